"""The two botocore entry points a tracer wraps, once per process for each tracer:
``BaseClient._make_api_call`` (a span for each AWS call) and ``Endpoint.prepare_request``
(the trace header on the way out). The X-Ray tracer (``xray_patch``) and the
OpenTelemetry one (``otel``) each bring their own two wrappers; this only installs them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

# wrapt's wrapper signature: (wrapped, instance, args, kwargs) -> what wrapped returns
Wrapper = Callable[[Any, Any, Any, Any], Any]


class BotocoreWrap:
    def __init__(self, api_call: Wrapper, prepare_request: Wrapper) -> None:
        self._api_call, self._prepare_request = api_call, prepare_request
        self._lock = threading.Lock()
        self._installed = False

    def install(self) -> bool:
        """Install the wrappers; True if this call installed them."""
        with self._lock:
            if self._installed:
                return False
            import wrapt

            wrapt.wrap_function_wrapper("botocore.client", "BaseClient._make_api_call",
                                        self._api_call)
            wrapt.wrap_function_wrapper("botocore.endpoint", "Endpoint.prepare_request",
                                        self._prepare_request)
            self._installed = True
            return True
