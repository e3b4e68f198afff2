"""The hooks the bot calls at the moments an operator cares about, in one place.

Owns the translation from "this happened" (an envelope was acked, a question was refused for
its budget, an answer ended with this outcome) into metrics (bot.ops.metrics), an answer's
span and its retrieval and generation child spans (bot.ops.tracing, when on) and the log
context of JSON lines (deskhand.log_format). Callers make one call per moment; nothing here
may cost anyone an answer, so every hook swallows (and logs) its own failures.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from bot.ops import log_context
from bot.ops.metrics import BotMetrics
from bot.ops.tracing import Attributes, Tracing
from engine import model_name_of

if TYPE_CHECKING:
    from bot.answer.jobs import AnswerJob
    from engine import Completion

logger = logging.getLogger(__name__)

HOUR_S = 3600.0
QUIET_REFUSALS = frozenset({"duplicate", "ignored"})  # not refusals anyone was told about


class BotObserver:
    """One per running bot; `answer_started` returns the watch of one answer."""

    def __init__(
        self,
        metrics: BotMetrics | None = None,
        *,
        model: str = "model",
        cost_per_hour: float = 0.0,
        currency: str = "USD",
        message_text: bool = False,
        tracing: Tracing | None = None,
    ) -> None:
        self.metrics = metrics or BotMetrics()
        self.model = model
        self.cost_per_hour = cost_per_hour
        self.currency = currency
        self.message_text = message_text  # LOG_MESSAGE_TEXT: question and answer in spans
        self.tracing = tracing

    @classmethod
    def for_bot(cls, engine: Any, metrics: BotMetrics, **options: Any) -> BotObserver:
        """The observer of a bot over `engine`, with the engine's series on `metrics` too;
        `options` as for the constructor (cost, message text, tracing)."""
        metrics.watch_engine(engine)
        return cls(metrics, model=model_name_of(engine), **options)

    # -- the transport -------------------------------------------------------------------

    def event_received(self, kind: str) -> None:
        self.metrics.events_received.labels(kind).inc()

    def event_acked(self, kind: str, seconds: float) -> None:
        self.metrics.events_acked.labels(kind).inc()
        self.metrics.ack_latency.labels(kind).observe(seconds)

    # -- admission and buttons -----------------------------------------------------------

    def refused(self, kind: str) -> None:
        if kind in QUIET_REFUSALS:
            return
        self.metrics.refusals.labels(kind).inc()
        if kind == "busy":
            self.metrics.busy_replies.inc()

    def feedback(self, vote: int) -> None:
        self.metrics.feedback.labels("up" if vote > 0 else "down").inc()

    def handoff(self) -> None:
        self.metrics.handoffs.inc()

    # -- answers -------------------------------------------------------------------------

    def answer_started(self, job: AnswerJob) -> AnswerWatch:
        return AnswerWatch(self, job)

    def close(self) -> None:
        if self.tracing is not None:
            self.tracing.shutdown()


class AnswerWatch:
    """One answer, from start to finish: begin/end mark its steps (retrieval, generation)."""

    def __init__(self, observer: BotObserver, job: AnswerJob) -> None:
        self.observer = observer
        self.started = time.monotonic()
        self.generation_started: float | None = None
        self.route: str | None = None
        self._steps: dict[str, Any] = {}
        self._span: Any = None
        question = job.question
        self._log_token = log_context.bind(job.id, question.channel_id)
        tracing = observer.tracing
        if tracing is not None:
            attributes: Attributes = {
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": observer.model,
                "deskhand.job_id": job.id,
                "deskhand.surface": question.kind,
                "deskhand.channel": question.channel_id,
                "deskhand.resumed": bool(job.resumed),
            }
            if observer.message_text:
                attributes["deskhand.question"] = question.text
            self._span = _safely(lambda: tracing.start("deskhand.answer", attributes))

    def begin(self, step: str) -> None:
        """A step starts: "retrieval" (the answerer's plan) or "generation" (the engine)."""
        if step == "generation":
            self.generation_started = time.monotonic()
        tracing = self.observer.tracing
        if tracing is None or self._span is None:
            return
        if step == "generation":
            name = f"chat {self.observer.model}"
            attributes: Attributes = {
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": self.observer.model,
            }
        else:
            name, attributes = step, {"gen_ai.operation.name": step}
        span = _safely(lambda: tracing.start(name, attributes, parent=self._span))
        if span is not None:
            self._steps[step] = span

    def end(
        self, step: str, *, route: str | None = None, completion: Completion | None = None
    ) -> None:
        """A step ended; the route is known after retrieval, the usage after generation."""
        if route:
            self.route = route
            log_context.set_route(route)
        span = self._steps.pop(step, None)
        if span is None or self.observer.tracing is None:
            return
        attributes: Attributes = {"deskhand.route": route} if route else {}
        if completion is not None:
            attributes.update(_usage(completion))
            if self.observer.message_text:
                attributes["deskhand.answer"] = completion.text
        _safely(lambda: Tracing.end(span, attributes))

    def finish(
        self, *, outcome: str, route: str, completion: Completion | None, elapsed_s: float
    ) -> None:
        """The answer ended (written, refused, failed or handed over): count it, end its
        spans, and leave the log context."""
        try:
            self._count(outcome, route, completion, elapsed_s)
            self._end_spans(outcome, route, completion, elapsed_s)
        except Exception:
            logger.exception("could not record the metrics of an answer")
        finally:
            log_context.unbind(self._log_token)

    def first_chunk_s(self, completion: Completion | None) -> float | None:
        """From the answer's start to the engine's first text (None without one)."""
        if completion is None or completion.ttft_s is None or self.generation_started is None:
            return None
        return self.generation_started - self.started + completion.ttft_s

    def _count(
        self, outcome: str, route: str, completion: Completion | None, elapsed_s: float
    ) -> None:
        metrics, observer = self.observer.metrics, self.observer
        metrics.answers.labels(route, outcome).inc()
        metrics.answer_duration.labels(route).observe(elapsed_s)
        if outcome == "busy":
            metrics.busy_replies.inc()
        if (first := self.first_chunk_s(completion)) is not None:
            metrics.answer_first_chunk.observe(first)
        if completion is not None:
            cost = completion.engine_s * observer.cost_per_hour / HOUR_S
            metrics.answer_cost.labels(observer.currency).observe(cost)

    def _end_spans(
        self, outcome: str, route: str, completion: Completion | None, elapsed_s: float
    ) -> None:
        if self._span is None:
            return
        for step, span in list(self._steps.items()):  # a step cut short by an exception
            Tracing.end(span, error=f"{step} did not finish ({outcome})")
        self._steps.clear()
        attributes: Attributes = {
            "deskhand.route": route,
            "deskhand.outcome": outcome,
            "deskhand.duration_s": round(elapsed_s, 3),
        }
        if completion is not None:
            attributes.update(_usage(completion))
        if (first := self.first_chunk_s(completion)) is not None:
            attributes["deskhand.time_to_first_chunk_s"] = round(first, 4)
        Tracing.end(self._span, attributes, error=outcome if outcome == "error" else None)


def _usage(completion: Completion) -> Attributes:
    attributes: Attributes = {
        "gen_ai.usage.input_tokens": completion.prompt_tokens,
        "gen_ai.usage.output_tokens": completion.output_tokens,
        "gen_ai.response.finish_reasons": [str(completion.finish_reason.value)],
    }
    if completion.ttft_s is not None:  # measured from the request to the engine, as specified
        attributes["gen_ai.response.time_to_first_chunk"] = round(completion.ttft_s, 4)
    return attributes


def _safely(make: Any) -> Any:
    try:
        return make()
    except Exception:
        logger.exception("tracing failed")
        return None
