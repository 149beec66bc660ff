"""``make_tracer(settings)``: pick the tracing backend from configuration.

``Settings.tracing`` (``AUTO_LAMBDA_TRACING``) = ``off`` (or ``null``) forces no tracing,
``xray`` forces the X-Ray backend, ``memory`` keeps spans in memory; unset, X-Ray is used
when a daemon address is configured (``Settings.xray_daemon`` /
``AWS_XRAY_DAEMON_ADDRESS``), else nothing. The SDK is imported only when the X-Ray
backend is chosen.
"""

from __future__ import annotations

from orchestrator.config import Settings
from orchestrator.errors import AutoLambdaError
from orchestrator.tracing.base import Tracer
from orchestrator.tracing.null import NullTracer

TRACING_ENV = "AUTO_LAMBDA_TRACING"
DAEMON_ENV = "AWS_XRAY_DAEMON_ADDRESS"
_OFF = {"off", "null", "none", "0", "false"}


class TracingConfigError(AutoLambdaError):
    code = "TracingConfigInvalid"


def tracing_mode(settings: Settings) -> str:
    """``"xray"``, ``"memory"`` or ``"off"``, from the settings described above."""
    raw = settings.tracing.strip().lower()
    if raw in _OFF:
        return "off"
    if raw in ("xray", "memory"):
        return raw
    if raw:
        raise TracingConfigError(f"{TRACING_ENV}={raw!r} is not a tracing backend",
                                 hint="use xray, memory or off")
    return "xray" if settings.xray_daemon else "off"


def make_tracer(settings: Settings) -> Tracer:
    mode = tracing_mode(settings)
    # each backend loads only when chosen (the X-Ray SDK costs start-up time)
    if mode == "memory":
        from orchestrator.tracing.memory import MemoryTracer

        return MemoryTracer()
    if mode == "off":
        return NullTracer()
    from orchestrator.tracing.xray import DEFAULT_DAEMON_ADDRESS, XRayTracer

    address = settings.xray_daemon or DEFAULT_DAEMON_ADDRESS
    try:
        return XRayTracer(address, service=settings.prefix)
    except Exception as exc:  # the SDK raises its own exception for a bad address
        raise TracingConfigError(
            f"cannot send X-Ray segments to {address!r}: {exc}",
            hint=f"set {DAEMON_ENV} to host:port (e.g. 127.0.0.1:2000)") from exc
