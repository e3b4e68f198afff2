"""The engine's request-level measurements: latency histograms it keeps itself.

Owns one thing: fixed-bucket histograms (time to first token, inter-token latency, end-to-end
latency, queue time; vLLM's bucket boundaries) that the engine fills as requests run, and a
snapshot of them for whoever exports them (engine.prometheus reads it at scrape time; nothing
here knows Prometheus). Each histogram has one writer at a time (the engine thread for
inter-token gaps, the finish lock for per-request numbers), so observing takes no lock of its
own on the token path; a snapshot copies the counts under the GIL and is self-consistent.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

from engine.types import Completion, FinishReason

# vLLM's boundaries (vllm/v1/metrics/loggers.py), so dashboards built for it read ours alike.
TTFT_BUCKETS = (
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0,
    2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0,
)  # fmt: skip
INTER_TOKEN_BUCKETS = (
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0,
    2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0,
)  # fmt: skip
REQUEST_LATENCY_BUCKETS = (
    0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0,
    40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class HistogramSnapshot:
    """Counts per bucket (not cumulative; the last one is +Inf) and the sum of observations."""

    bounds: tuple[float, ...]
    counts: tuple[int, ...]
    sum: float

    @property
    def count(self) -> int:
        return sum(self.counts)

    def cumulative(self) -> list[tuple[str, int]]:
        """(upper bound, observations <= it) pairs ending with "+Inf", as Prometheus wants."""
        pairs, running = [], 0
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            running += count
            pairs.append(("+Inf" if bound == float("inf") else repr(float(bound)), running))
        return pairs


class LatencyHistogram:
    """Seconds into fixed buckets. One writer at a time; any thread may snapshot."""

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self._counts = [0] * (len(self.bounds) + 1)
        self._sum = 0.0

    def observe(self, seconds: float) -> None:
        self._counts[bisect_left(self.bounds, seconds)] += 1  # le: bound >= value
        self._sum += seconds

    def snapshot(self) -> HistogramSnapshot:
        return HistogramSnapshot(self.bounds, tuple(self._counts), self._sum)


# vLLM's finished_reason values: ours that are not a stop or a length limit end as "abort".
VLLM_FINISHED_REASON = {FinishReason.STOP: "stop", FinishReason.LENGTH: "length"}


@dataclass(frozen=True, slots=True)
class RequestMetricsSnapshot:
    time_to_first_token: HistogramSnapshot
    inter_token_latency: HistogramSnapshot
    e2e_request_latency: HistogramSnapshot
    request_queue_time: HistogramSnapshot
    finished: dict[str, int]  # by vLLM's finished_reason (stop, length, abort)
    preemptions: int


class RequestMetrics:
    """What every finished request adds (request_finished) and the gaps between tokens
    (inter_token, from the one thread that produces tokens)."""

    def __init__(self) -> None:
        self.ttft = LatencyHistogram(TTFT_BUCKETS)
        self.itl = LatencyHistogram(INTER_TOKEN_BUCKETS)
        self.e2e = LatencyHistogram(REQUEST_LATENCY_BUCKETS)
        self.queue = LatencyHistogram(REQUEST_LATENCY_BUCKETS)
        self.finished = dict.fromkeys(("stop", "length", "abort"), 0)
        self.preemptions = 0  # the engine thread's: requests sent back to wait (out of memory)

    def inter_token(self, seconds: float) -> None:
        self.itl.observe(seconds)

    def request_finished(self, done: Completion) -> None:
        """Call once per request, serialized by the caller (the engine's finish lock)."""
        if done.ttft_s is not None:
            self.ttft.observe(done.ttft_s)
        self.e2e.observe(done.total_s)
        self.queue.observe(done.queue_wait_s)
        self.finished[VLLM_FINISHED_REASON.get(done.finish_reason, "abort")] += 1

    def snapshot(self) -> RequestMetricsSnapshot:
        return RequestMetricsSnapshot(
            self.ttft.snapshot(),
            self.itl.snapshot(),
            self.e2e.snapshot(),
            self.queue.snapshot(),
            dict(self.finished),
            self.preemptions,
        )
