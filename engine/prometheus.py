"""The engine's numbers as Prometheus metrics, read at scrape time (a collector).

Owns the names and shapes. Nothing is counted here: each scrape reads `engine.stats()` and
`engine.metrics` (engine.metrics), so the generation loop takes no lock and calls nothing for
Prometheus. The in-process engine is an inference server in its own right, so it uses vLLM's
names and meanings (`vllm:num_requests_running`, `vllm:time_to_first_token_seconds`, … with
a `model_name` label) and vLLM's dashboards work unchanged. A remote engine (ENGINE_URL) is
reported under `deskhand:` with the same shapes: the server there exports its own `vllm:`
series, and ours (measured as a client: network included, chunks instead of tokens) would
otherwise be summed with them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from engine.metrics import HistogramSnapshot, RequestMetrics

LOCAL_PREFIX = "vllm:"
REMOTE_PREFIX = "deskhand:"


def prefix_for(engine: Any) -> str:
    """vllm: for the in-process engine, deskhand: for a remote one (see the module doc)."""
    return REMOTE_PREFIX if getattr(engine.info, "device", "") == "remote" else LOCAL_PREFIX


def model_name_of(engine: Any) -> str:
    return str(getattr(engine.info, "name", None) or "model")


class EngineCollector(Collector):
    """Reads one engine at each scrape."""

    def __init__(self, engine: Any, *, model_name: str | None = None, prefix: str | None = None):
        self.engine = engine
        self.model_name = model_name or model_name_of(engine)
        self.prefix = prefix if prefix is not None else prefix_for(engine)

    def collect(self) -> Iterator[Metric]:
        p, labels, values = self.prefix, ["model_name"], [self.model_name]
        stats = self.engine.stats()

        def gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
            family = GaugeMetricFamily(p + name, doc, labels=labels)
            family.add_metric(values, value)
            return family

        def counter(name: str, doc: str, value: float) -> CounterMetricFamily:
            family = CounterMetricFamily(p + name, doc, labels=labels)
            family.add_metric(values, value)
            return family

        def histogram(name: str, doc: str, snap: HistogramSnapshot) -> HistogramMetricFamily:
            family = HistogramMetricFamily(p + name, doc, labels=labels)
            family.add_metric(values, snap.cumulative(), snap.sum)
            return family

        yield gauge(
            "num_requests_running", "Number of requests in model execution batches.", stats.running
        )
        yield gauge(
            "num_requests_waiting", "Number of requests waiting to be processed.", stats.queued
        )
        extra = stats.extra
        if "kv_cache_usage" in extra:
            yield gauge(
                "kv_cache_usage_perc",
                "KV-cache usage. 1 means 100 percent usage (tokens held by running rows over "
                "rows x context window).",
                extra["kv_cache_usage"],
            )
        if "prefix_cache_queries" in extra:
            yield counter(
                "prefix_cache_queries",
                "Prefix cache queries, in terms of number of queried tokens.",
                extra["prefix_cache_queries"],
            )
            yield counter(
                "prefix_cache_hits",
                "Prefix cache hits, in terms of number of cached tokens.",
                extra.get("prefix_cache_hits", 0.0),
            )
        yield counter("prompt_tokens", "Number of prefill tokens processed.", stats.prompt_tokens)
        yield counter(
            "generation_tokens", "Number of generation tokens processed.", stats.tokens_generated
        )
        metrics = getattr(self.engine, "metrics", None)
        if isinstance(metrics, RequestMetrics):
            snap = metrics.snapshot()
            yield histogram(
                "time_to_first_token_seconds",
                "Histogram of time to first token in seconds.",
                snap.time_to_first_token,
            )
            yield histogram(
                "inter_token_latency_seconds",
                "Histogram of inter-token latency in seconds.",
                snap.inter_token_latency,
            )
            yield histogram(
                "e2e_request_latency_seconds",
                "Histogram of e2e request latency in seconds.",
                snap.e2e_request_latency,
            )
            yield histogram(
                "request_queue_time_seconds",
                "Histogram of time spent in WAITING phase for request.",
                snap.request_queue_time,
            )
            finished = CounterMetricFamily(
                p + "request_success",
                "Count of finished requests by finished_reason (stop, length; abort for "
                "cancelled, timed out or failed).",
                labels=[*labels, "finished_reason"],
            )
            for reason, count in snap.finished.items():
                finished.add_metric([*values, reason], count)
            yield finished
            yield counter(
                "num_preemptions",
                "Cumulative number of preemptions from the engine.",
                snap.preemptions,
            )
        healthy = GaugeMetricFamily(
            "deskhand:engine_healthy",
            "1 while the engine serves; 0 when it is dead or a step has run past ENGINE_STALL_S.",
            labels=labels,
        )
        healthy.add_metric(values, 0.0 if stats.unhealthy_reason else 1.0)
        yield healthy
