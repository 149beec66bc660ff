"""``make_tracer(settings)``: pick the tracing backend from configuration.

``Settings.tracing`` (``AUTO_LAMBDA_TRACING``) = ``off`` (or ``null``) forces no tracing,
``xray`` forces the X-Ray backend, ``otel`` the OpenTelemetry one (OTLP/HTTP to
``Settings.otel_traces_endpoint`` / ``otel_endpoint``; needs the ``otel`` extra),
``memory`` keeps spans in memory; unset, X-Ray is used when a daemon address is
configured (``Settings.xray_daemon`` / ``AWS_XRAY_DAEMON_ADDRESS``), else nothing.
Each SDK is imported only when its backend is chosen.
"""

from __future__ import annotations

from orchestrator.codes import Code
from orchestrator.config import Settings
from orchestrator.errors import AutoLambdaError, require_extra
from orchestrator.tracing.base import Tracer
from orchestrator.tracing.null import NullTracer

TRACING_ENV = "AUTO_LAMBDA_TRACING"
DAEMON_ENV = "AWS_XRAY_DAEMON_ADDRESS"
_OFF = {"off", "null", "none", "0", "false"}
_BACKENDS = ("xray", "otel", "memory")
# What the otel backend imports: checked first, so a missing package is ExtraMissing.
_OTEL_MODULES = ("opentelemetry.sdk.trace",
                 "opentelemetry.exporter.otlp.proto.http.trace_exporter",
                 "opentelemetry.sdk.extension.aws.trace",
                 "opentelemetry.propagators.aws")
OTLP_TRACES_PATH = "/v1/traces"
DEFAULT_OTLP_ENDPOINT = "http://localhost:4318"


class TracingConfigError(AutoLambdaError):
    code = Code.TracingConfigInvalid


def tracing_mode(settings: Settings) -> str:
    """``"xray"``, ``"otel"``, ``"memory"`` or ``"off"``, from the settings described above."""
    raw = settings.tracing.strip().lower()
    if raw in _OFF:
        return "off"
    if raw in _BACKENDS:
        return raw
    if raw:
        raise TracingConfigError(f"{TRACING_ENV}={raw!r} is not a tracing backend",
                                 hint="use xray, otel, memory or off")
    return "xray" if settings.xray_daemon else "off"


def make_tracer(settings: Settings) -> Tracer:
    mode = tracing_mode(settings)
    # each backend loads only when chosen (the X-Ray SDK costs start-up time)
    if mode == "memory":
        from orchestrator.tracing.memory import MemoryTracer

        return MemoryTracer()
    if mode == "off":
        return NullTracer()
    if mode == "otel":
        return _otel_tracer(settings)
    from orchestrator.tracing.xray import DEFAULT_DAEMON_ADDRESS, XRayTracer

    address = settings.xray_daemon or DEFAULT_DAEMON_ADDRESS
    try:
        return XRayTracer(address, service=settings.prefix)
    except Exception as exc:  # the SDK raises its own exception for a bad address
        raise TracingConfigError(
            f"cannot send X-Ray segments to {address!r}: {exc}",
            hint=f"set {DAEMON_ENV} to host:port (e.g. 127.0.0.1:2000)") from exc


def otlp_traces_endpoint(settings: Settings) -> str:
    """The OTLP/HTTP traces URL, as the OpenTelemetry specification derives it: the
    traces-only variable as given, else the base address + ``/v1/traces``."""
    if settings.otel_traces_endpoint:
        return settings.otel_traces_endpoint
    base = settings.otel_endpoint or DEFAULT_OTLP_ENDPOINT
    return base.rstrip("/") + OTLP_TRACES_PATH


def _otel_tracer(settings: Settings) -> Tracer:
    for module in _OTEL_MODULES:
        require_extra(module, "otel", f"{TRACING_ENV}=otel")
    from orchestrator.tracing.otel import OTelTracer

    endpoint = otlp_traces_endpoint(settings)
    if not endpoint.startswith(("http://", "https://")):
        raise TracingConfigError(
            f"cannot send OTLP spans to {endpoint!r}: not an http(s) URL",
            hint="set OTEL_EXPORTER_OTLP_ENDPOINT to e.g. http://127.0.0.1:4318")
    return OTelTracer(endpoint, service=settings.prefix)
