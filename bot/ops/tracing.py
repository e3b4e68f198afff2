"""Optional OpenTelemetry traces, exported over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set.

Owns the tracer's life (start_tracing, shutdown) and the span calls the observer makes. Off
and free when the endpoint is unset: nothing imports opentelemetry then (it is the optional
`deskhand[otel]` extra). Attribute names follow OpenTelemetry's GenAI conventions
(`gen_ai.operation.name`, `gen_ai.request.model`, `gen_ai.usage.input_tokens`, …).
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)

TRACES_PATH = "/v1/traces"
Attributes = dict[str, Any]  # str, bool, int, float or a list of one of them


class Tracing:
    """A tracer (any OpenTelemetry Tracer: the SDK's, or a test's) and its provider."""

    def __init__(self, tracer: Any, provider: Any = None) -> None:
        self.tracer = tracer
        self.provider = provider

    def start(self, name: str, attributes: Attributes, parent: Any = None) -> Any:
        from opentelemetry import trace  # imported only once tracing is on

        context = trace.set_span_in_context(parent) if parent is not None else None
        return self.tracer.start_span(name, context=context, attributes=attributes)

    @staticmethod
    def end(span: Any, attributes: Attributes | None = None, *, error: str | None = None) -> None:
        if attributes:
            span.set_attributes(attributes)
        if error:
            from opentelemetry.trace import Status, StatusCode

            span.set_status(Status(StatusCode.ERROR, error))
        span.end()

    def shutdown(self) -> None:
        """Send what is buffered and stop the exporter."""
        if self.provider is not None:
            try:
                self.provider.shutdown()
            except Exception:
                logger.exception("could not flush the last traces")


def traces_url(endpoint: str) -> str:
    """OTEL_EXPORTER_OTLP_ENDPOINT is the collector's base URL; spans go to its /v1/traces."""
    base = endpoint.strip().rstrip("/")
    return base if base.endswith(TRACES_PATH) else base + TRACES_PATH


def start_tracing(endpoint: str | None, service_name: str = "deskhand") -> Tracing | None:
    """A tracer exporting to `endpoint` (OTEL_EXPORTER_OTLP_ENDPOINT), or None when it is
    unset (or the otel extra is not installed, which is said once)."""
    if not endpoint:
        return None
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        logger.warning(
            "OTEL_EXPORTER_OTLP_ENDPOINT is set but OpenTelemetry is not installed "
            "(pip install 'deskhand[otel]'): no traces"
        )
        return None
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=traces_url(endpoint))))
    logger.info("traces: OTLP/HTTP to %s", traces_url(endpoint))
    return Tracing(provider.get_tracer("deskhand"), provider)
