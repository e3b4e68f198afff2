"""Traces: with OTEL_EXPORTER_OTLP_ENDPOINT set, each answer is one span with OpenTelemetry's
GenAI attributes and child spans for retrieval and generation, sent over OTLP/HTTP to a
collector (a real HTTP receiver here, decoding the protobuf); no message text unless
LOG_MESSAGE_TEXT; nothing imported and nothing sent when the endpoint is unset."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from bot.ops.tracing import Tracing, traces_url
from tests.helpers import run_python

QUESTION = "is the Cragfell GX waterproof?"


class Collector:
    """An OTLP/HTTP receiver: keeps every ExportTraceServiceRequest posted to /v1/traces."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.paths: list[str] = []
        received = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                received.paths.append(self.path)
                received.bodies.append(self.rfile.read(length))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def spans(self) -> list[Any]:
        found = []
        for body in self.bodies:
            request = ExportTraceServiceRequest.FromString(body)
            for resource_spans in request.resource_spans:
                for scope_spans in resource_spans.scope_spans:
                    found.extend(scope_spans.spans)
        return found


def attrs(span: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in span.attributes:
        value = kv.value
        kind = value.WhichOneof("value")
        if kind == "array_value":
            out[kv.key] = [v.string_value for v in value.array_value.values]
        else:
            out[kv.key] = getattr(value, kind)
    return out


def test_each_answer_is_a_span_with_genai_attributes_over_otlp(
    workspace, run_bot, script, scripted_engine
):
    script.answer = lambda turns: "Yes, to IP67."
    collector = Collector()
    try:
        bot = run_bot(workspace, scripted_engine, otel_exporter_otlp_endpoint=collector.url)
        ts = workspace.mention("ada", "support", QUESTION)
        workspace.wait_for_reply("support", ts, timeout=20)
        workspace.wait_for(lambda: bot.services.pool.active == 0 or None, timeout=20)
        tracing = bot.services.ops.tracing
        assert tracing is not None
        tracing.provider.force_flush()
    finally:
        collector.server.shutdown()
    assert set(collector.paths) == {"/v1/traces"}
    spans = {span.name: span for span in collector.spans()}
    model = scripted_engine.info.name
    assert set(spans) == {"deskhand.answer", "retrieval", f"chat {model}"}
    answer, retrieval, generation = (
        spans["deskhand.answer"],
        spans["retrieval"],
        spans[f"chat {model}"],
    )
    assert retrieval.parent_span_id == answer.span_id
    assert generation.parent_span_id == answer.span_id
    assert len({answer.trace_id, retrieval.trace_id, generation.trace_id}) == 1
    top = attrs(answer)
    assert top["gen_ai.operation.name"] == "chat"
    assert top["gen_ai.request.model"] == model
    assert top["gen_ai.usage.input_tokens"] > 0
    assert top["gen_ai.usage.output_tokens"] == len(b"Yes, to IP67.")
    assert top["gen_ai.response.finish_reasons"] == ["stop"]
    assert 0 < top["gen_ai.response.time_to_first_chunk"] < top["deskhand.duration_s"]
    assert 0 < top["deskhand.time_to_first_chunk_s"] <= top["deskhand.duration_s"]
    assert (top["deskhand.route"], top["deskhand.outcome"]) == ("assistant", "stop")
    assert attrs(retrieval)["gen_ai.operation.name"] == "retrieval"
    assert attrs(generation)["gen_ai.usage.output_tokens"] == len(b"Yes, to IP67.")
    assert generation.start_time_unix_nano >= retrieval.end_time_unix_nano
    body = b"".join(collector.bodies)
    assert b"Cragfell" not in body and b"IP67" not in body  # no message text by default


def test_message_text_goes_into_spans_only_with_log_message_text(
    workspace, run_bot, script, scripted_engine
):
    script.answer = lambda turns: "Yes, to IP67."
    bot = run_bot(workspace, scripted_engine, log_message_text=True)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    bot.services.ops.tracing = Tracing(provider.get_tracer("test"), provider)
    ts = workspace.mention("ada", "support", QUESTION)
    workspace.wait_for_reply("support", ts, timeout=20)
    workspace.wait_for(lambda: bot.services.pool.active == 0 or None, timeout=20)
    workspace.wait_for(lambda: len(exporter.get_finished_spans()) == 3 or None, timeout=10)
    spans = {span.name: span for span in exporter.get_finished_spans()}
    assert QUESTION in spans["deskhand.answer"].attributes["deskhand.question"]
    assert spans[f"chat {scripted_engine.info.name}"].attributes["deskhand.answer"] == (
        "Yes, to IP67."
    )


def test_no_endpoint_no_tracing_and_no_import():
    code = (
        "import sys\n"
        "from deskhand.settings import Settings\n"
        "import bot.runtime\n"
        "from bot.ops.tracing import start_tracing\n"
        "unset = Settings(_env_file=None).otel_exporter_otlp_endpoint\n"
        "assert unset is None and start_tracing(unset) is None\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
    )
    done = run_python(code, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_endpoint_is_the_collectors_base_url():
    assert traces_url("http://otel:4318") == "http://otel:4318/v1/traces"
    assert traces_url("http://otel:4318/v1/traces/") == "http://otel:4318/v1/traces"
