"""The bot's Prometheus metrics: one registry per running bot, its names, and what fills them.

Owns the `deskhand:` series that describe the bot (events and acks, answers by route and
outcome, refusals, hand-offs, feedback, Slack API errors and 429s, cost per answer) and puts
the engine's collector (engine.prometheus) on the same registry, so one scrape of
METRICS_PORT shows both. Counters are bumped by bot.ops.observer; numbers the bot keeps anyway
(jobs resumed, answers in flight) are read at scrape time instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from slack_sdk.http_retry import RetryHandler, RetryState
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse

from engine import REQUEST_LATENCY_BUCKETS, TTFT_BUCKETS, EngineCollector

ACK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)
COST_BUCKETS = tuple(m * 10.0**e for e in range(-7, 1) for m in (1, 2, 5))  # 1e-7 .. 5


class BotMetrics:
    """Every series the bot exports, on its own registry (tests run several bots at once)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.events_received = Counter(
            "deskhand:events_received",
            "Slack envelopes or HTTP requests received, by type (events_api, slash_commands, "
            "interactive; form in HTTP mode: a command or a click).",
            ["type"],
            registry=r,
        )
        self.events_acked = Counter(
            "deskhand:events_acked", "Slack envelopes or requests acked, by type.", ["type"],
            registry=r,
        )  # fmt: skip
        self.ack_latency = Histogram(
            "deskhand:ack_latency_seconds",
            "From receiving an envelope or request to sending its ack (Slack allows 3 s).",
            ["type"],
            buckets=ACK_BUCKETS,
            registry=r,
        )
        self.answers = Counter(
            "deskhand:answers",
            "Questions that ended in the answer path, by route (kb, assistant, smalltalk) and "
            "outcome (answered, busy, error, stopped, …).",
            ["route", "outcome"],
            registry=r,
        )
        self.answer_duration = Histogram(
            "deskhand:answer_duration_seconds",
            "From starting an answer to its last write in Slack.",
            ["route"],
            buckets=REQUEST_LATENCY_BUCKETS,
            registry=r,
        )
        self.answer_first_chunk = Histogram(
            "deskhand:answer_time_to_first_chunk_seconds",
            "From starting an answer (reading the thread, retrieval, the prompt) to the engine's "
            "first text.",
            buckets=TTFT_BUCKETS,
            registry=r,
        )
        self.answer_cost = Histogram(
            "deskhand:answer_cost",
            "What each answer's share of engine time cost at COST_PER_HOUR (0 when unset).",
            ["currency"],
            buckets=COST_BUCKETS,
            registry=r,
        )
        self.refusals = Counter(
            "deskhand:refusals",
            "Questions refused at admission, by reason (budget, busy, user_busy, too_long, "
            "not_allowed).",
            ["reason"],
            registry=r,
        )
        self.busy_replies = Counter(
            "deskhand:busy_replies",
            "Questions told the bot is busy (answer pool or engine queue full).",
            registry=r,
        )
        self.handoffs = Counter(
            "deskhand:handoffs", "Questions handed to a human (Ask a human).", registry=r
        )
        self.feedback = Counter(
            "deskhand:feedback", "Feedback clicks on answers, by vote (up, down).", ["vote"],
            registry=r,
        )  # fmt: skip
        self.slack_api_errors = Counter(
            "deskhand:slack_api_errors",
            "Slack Web API responses that were errors (ok=false, HTTP 4xx/5xx but 429, or no "
            "connection), by method and error; each try counted.",
            ["method", "error"],
            registry=r,
        )
        self.slack_rate_limited = Counter(
            "deskhand:slack_api_rate_limited",
            "Slack Web API 429 responses (each is retried after Retry-After), by method.",
            ["method"],
            registry=r,
        )
        self.slack_calls = SlackCallObserver(self)

    def watch_engine(self, engine: Any) -> None:
        """The engine's series (vllm: or deskhand:, see engine.prometheus) on this registry."""
        self.registry.register(EngineCollector(engine))

    def watch(self, name: str, doc: str, read: Callable[[], float], kind: str = "counter") -> None:
        """A number the bot keeps anyway, read at each scrape."""
        self.registry.register(_Reading(name, doc, read, kind))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class SlackCallObserver(RetryHandler):
    """Sits first among the Web API client's retry handlers: sees every response (and every
    try of a retried call), counts errors and 429s, and never asks for a retry itself."""

    def __init__(self, metrics: BotMetrics) -> None:
        super().__init__(max_retry_count=0)
        self.metrics = metrics

    def can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        method = request.url.rsplit("/", 1)[-1].split("?", 1)[0] or "unknown"
        if response is None:
            if error is not None:
                self.metrics.slack_api_errors.labels(method, "connection").inc()
        elif response.status_code == 429:
            self.metrics.slack_rate_limited.labels(method).inc()
        elif response.status_code >= 400:
            self.metrics.slack_api_errors.labels(method, f"http_{response.status_code}").inc()
        elif isinstance(response.body, dict) and response.body.get("ok") is False:
            error_code = str(response.body.get("error") or "unknown")[:64]
            self.metrics.slack_api_errors.labels(method, error_code).inc()
        return False

    def _can_retry(self, **_: Any) -> bool:
        return False


class _Reading(Collector):
    def __init__(self, name: str, doc: str, read: Callable[[], float], kind: str) -> None:
        self.name, self.doc, self.read, self.kind = name, doc, read, kind

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily if self.kind == "counter" else GaugeMetricFamily
        yield family(self.name, self.doc, value=float(self.read()))
