"""Names for the free-form JSON auto-lambda stores and passes along (history events,
execution data, error details, AWS answers kept as they came), so a signature says
"JSON object" instead of an anonymous ``dict[str, Any]``. Imports nothing of ours."""

from __future__ import annotations

from typing import Any

# A JSON object: keys are strings, values whatever JSON holds. ``Any`` rather than a
# recursive union because readers index into it after checking a value's type.
JsonObject = dict[str, Any]
