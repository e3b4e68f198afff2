"""The engine: a thread-safe front door (`submit`) and the one thread that drives the model.

Callers on any thread submit chat messages and get a `RequestHandle` that streams text
deltas and resolves to a `Completion`. One engine thread runs continuous batching: each
step the scheduler admits newcomers (prefilled whole, or a long prompt one chunk at a
time), then every running row decodes one token, and finished rows leave, so a short
question never waits for a long answer. Only that thread calls the runner. Each step's
time is metered onto the requests in it. The engine knows nothing about Slack.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Sequence as Seq
from dataclasses import dataclass
from typing import Any, Protocol

from engine.chat import ChatFormat
from engine.errors import (
    DeviceFailure,
    EngineDead,
    EngineShutdown,
    OutOfDeviceMemory,
)
from engine.front_door import Counters, admitted_params, check_fits
from engine.scheduler import Scheduler
from engine.sequence import RequestHandle, Sequence
from engine.types import (
    ChatMessage,
    Completion,
    EngineStats,
    FinishReason,
    ModelInfo,
    SamplingParams,
)

logger = logging.getLogger(__name__)

RowRequest = tuple[int, Seq[int], SamplingParams]
NewTokens = dict[int, int | None]


class Runner(Protocol):
    """What the engine needs from the model side (engine.model.runner.ModelRunner)."""

    context_window: int

    @property
    def num_rows(self) -> int: ...
    def prefill(self, requests: Seq[RowRequest]) -> NewTokens: ...
    def prefill_chunk(self, request: RowRequest, chunk_tokens: int) -> NewTokens: ...
    def decode(self) -> NewTokens: ...
    def remove(self, key: int) -> None: ...
    def clear(self) -> None: ...
    def bind_thread(self) -> None: ...
    def stats(self) -> dict[str, float]: ...


MIN_CHUNK_TOKENS = 32  # smaller chunks cost more in per-step overhead than they save


@dataclass(frozen=True, slots=True)
class EngineConfig:
    max_running: int = 16  # rows decoded together
    max_queue: int = 64  # requests waiting for a row
    prefill_tokens_per_step: int = 2048  # padded prompt tokens prefilled between two decode steps
    prefill_chunk_tokens: int = 0  # prompts longer than this are prefilled in chunks (0: never)
    # A chunk is sized to take about this long (never more tokens than prefill_chunk_tokens):
    # the running answers wait for it, so this bounds their stall on any CPU (0: fixed size).
    prefill_chunk_budget_s: float = 0.0
    default_timeout_s: float | None = None
    stall_s: float = 120.0  # a step running longer than this marks the engine unhealthy


class Engine:
    """Continuous-batching generation over one resident model."""

    def __init__(
        self,
        runner: Runner,
        tokenizer: Any,
        config: EngineConfig,
        *,
        eos_token_ids: Seq[int] = (),
        info: ModelInfo | None = None,
    ) -> None:
        self.runner = runner
        self.tokenizer = tokenizer
        self.config = config
        self.info = info or ModelInfo("model", "unknown", runner.context_window, config.max_running)
        self.chat = ChatFormat(tokenizer, eos_token_ids)
        self.context_window = runner.context_window
        self.scheduler = Scheduler(
            max_running=config.max_running,
            max_queue=config.max_queue,
            prefill_tokens_per_step=config.prefill_tokens_per_step,
            prefill_chunk_tokens=config.prefill_chunk_tokens,
        )
        self._ids = itertools.count(1)
        self._dead: str | None = None
        self._step_started: float | None = None  # set while a step runs (stall detection)
        # Written by the engine thread only (reads elsewhere are snapshots): no lock per token;
        # `finished` under _finished_lock (finishes come from any thread, once each).
        self._busy_s = 0.0
        self._chunk_tokens = config.prefill_chunk_tokens  # the next chunk's size
        self.counters = Counters()
        self._finished_lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="engine", daemon=True)
        self._thread.start()

    @property
    def _batch_limit(self) -> int:
        return self.scheduler.batch_limit

    # -- front door (any thread) -------------------------------------------------------------

    def count_tokens(self, messages: Seq[ChatMessage]) -> int:
        return len(self.chat.encode(messages))

    def submit(
        self, messages: Seq[ChatMessage], params: SamplingParams | None = None
    ) -> RequestHandle:
        """Queue a request; raises at once when it cannot be accepted (never waits)."""
        params = admitted_params(params, self.config.default_timeout_s)
        prompt = self.chat.encode(messages)
        check_fits(len(prompt), self.context_window)
        with self.scheduler.lock:
            if reason := self.stall_reason():
                raise EngineDead(reason)
            if self.scheduler.stopping:
                raise EngineShutdown("the engine is shutting down")
            seq = Sequence(
                next(self._ids),
                prompt,
                params,
                self.tokenizer,
                self.chat.stop_token_ids,
                on_finish=self._count_finished,
            )
            self.scheduler.add(seq)
        return RequestHandle(seq, self)

    def generate(
        self, messages: Seq[ChatMessage], params: SamplingParams | None = None
    ) -> Completion:
        """Submit and wait: a convenience for scripts and tests."""
        return self.submit(messages, params).result()

    def cancel(self, handle: RequestHandle) -> None:
        """Stop a request: a queued one at once, a running one within one decode step."""
        handle.cancel()

    def cancel_sequence(self, seq: Sequence) -> None:
        self.scheduler.cancel(seq)

    def queue_position(self, seq: Sequence) -> int | None:
        return self.scheduler.queue_position(seq)

    def stats(self) -> EngineStats:
        scheduler = self.scheduler
        return self.counters.snapshot(
            running=len(scheduler.running),
            queued=len(scheduler.waiting),
            max_running=self.config.max_running,
            max_queue=self.config.max_queue,
            busy_s=self._busy_s,
            extra={"batch_limit": float(scheduler.batch_limit), **self.runner.stats()},
            unhealthy_reason=self.stall_reason(),
        )

    def stall_reason(self) -> str | None:
        """Why the engine cannot serve now (dead, or a step stuck for too long), or None."""
        if self._dead:
            return self._dead
        if not self._thread.is_alive() and not self.scheduler.stopping:
            return "engine thread exited"
        started = self._step_started
        if started is not None and (stuck := time.monotonic() - started) > self.config.stall_s:
            return f"engine stalled: one step has run for {stuck:.0f} s"
        return None

    @property
    def is_alive(self) -> bool:
        return self._thread.is_alive() and self.stall_reason() is None

    def shutdown(self, *, cancel: bool = True, timeout: float | None = 30.0) -> None:
        """Stop accepting work; cancel (or finish) what is in flight; wait for the thread."""
        with self.scheduler.lock:
            self.scheduler.stopping = True
            if cancel:
                for seq in list(self.scheduler.waiting):
                    seq.finish(FinishReason.CANCELLED)
                self.scheduler.waiting.clear()
                for seq in self.scheduler.running.values():
                    seq.cancel_requested = True
            self.scheduler.lock.notify_all()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def _count_finished(self, seq: Sequence) -> None:
        with self._finished_lock:
            self.counters.finished += 1
        done = seq.completion
        if done is not None:  # counts only: the text is the user's business, not the log's
            logger.debug(
                "request %d finished: %s, %d+%d tokens, %.3f s",
                seq.id,
                done.finish_reason.value,
                done.prompt_tokens,
                done.output_tokens,
                done.total_s,
            )

    # -- the engine thread -------------------------------------------------------------------

    def _loop(self) -> None:
        # NOTE: the only code that calls the runner; runs on exactly one thread.
        try:
            self.runner.bind_thread()
            while (plan := self.scheduler.next_step()) is not None:
                self._step_started = time.monotonic()
                if plan.newcomers:
                    self._metered(self._prefill, plan.newcomers)
                if plan.chunked is not None:
                    self._metered(self._prefill_chunk, [plan.chunked])
                if decoding := [s for s in self.scheduler.running.values() if s.output]:
                    self._metered(self._decode, decoding)
                self._step_started = None
        except Exception as err:  # a device failure: nothing can be trusted any more
            self._die(err)

    def _metered(self, work: Any, seqs: list[Sequence]) -> None:
        """Run one piece of a step and share its wall time out to `seqs` (see engine_s)."""
        started = time.perf_counter()
        shares = work(seqs)
        elapsed = time.perf_counter() - started
        self._busy_s += elapsed
        total = sum(shares.values())
        for seq in seqs:
            if total:
                seq.engine_s += elapsed * shares.get(seq.id, 0.0) / total
        self._retire(seqs)

    def _prefill(self, newcomers: list[Sequence]) -> dict[int, float]:
        """Prefill newcomers whole; each one's share is its prompt length."""
        try:
            first = self.runner.prefill([(s.id, s.tokens, s.params) for s in newcomers])
        except DeviceFailure:
            raise
        except OutOfDeviceMemory:
            if len(self.scheduler.running) > len(newcomers):  # others hold memory: retry later
                self.scheduler.requeue(newcomers)
                self._preempt()
                return {}
            return self._prefill_one_by_one(newcomers)
        except Exception as err:
            return self._prefill_one_by_one(newcomers, err)
        self._accept(first)
        self.counters.prompt_tokens += sum(len(s.prompt) for s in newcomers)
        return {s.id: float(len(s.tokens)) for s in newcomers}

    def _prefill_one_by_one(
        self, newcomers: list[Sequence], err: Exception | None = None
    ) -> dict[int, float]:
        """Isolate the failing request: one by one, so only it fails."""
        if len(newcomers) > 1:
            shares: dict[int, float] = {}
            for seq in newcomers:
                shares.update(self._prefill([seq]))
            return shares
        seq = newcomers[0]
        name = err.__class__.__name__ if err else "OutOfDeviceMemory"
        logger.error("request %d failed in prefill: %s", seq.id, name, exc_info=err)
        seq.error = f"prefill failed: {name}"
        return {}

    def _prefill_chunk(self, seqs: list[Sequence]) -> dict[int, float]:
        seq, chunk = seqs[0], self._chunk_tokens
        try:
            started = time.perf_counter()
            first = self.runner.prefill_chunk((seq.id, seq.tokens, seq.params), chunk)
            self._fit_chunk(chunk, time.perf_counter() - started, whole=not first)
        except DeviceFailure:
            raise
        except Exception as err:
            logger.error("request %d failed in prefill: %s", seq.id, err.__class__.__name__)
            self.runner.remove(seq.id)
            seq.error = f"prefill failed: {err.__class__.__name__}"
            return {seq.id: 1.0}
        if first:
            self.scheduler.chunk_done(seq)
            self._accept(first)
            self.counters.prompt_tokens += len(seq.prompt)
        return {seq.id: 1.0}

    def _fit_chunk(self, chunk: int, elapsed_s: float, *, whole: bool) -> None:
        """Size the next chunk from this one's speed to take prefill_chunk_budget_s."""
        budget, ceiling = self.config.prefill_chunk_budget_s, self.config.prefill_chunk_tokens
        if budget <= 0 or not whole or elapsed_s <= 0:
            return  # the last chunk of a prompt is shorter: its time says nothing
        fitted = int(chunk * budget / elapsed_s)
        self._chunk_tokens = max(MIN_CHUNK_TOKENS, min(ceiling, fitted))

    def _decode(self, decoding: list[Sequence]) -> dict[int, float]:
        """One decode step; every row in it takes an equal share."""
        try:
            tokens = self.runner.decode()
        except DeviceFailure:
            raise
        except OutOfDeviceMemory:
            if len(decoding) > 1:
                self._preempt()
                return {}
            self._fail_all(decoding, "decode failed: OutOfDeviceMemory")
            return {}
        except Exception as err:
            logger.exception("decode step failed; failing the %d requests in it", len(decoding))
            self._fail_all(decoding, f"decode failed: {err.__class__.__name__}")
            return {}
        self._accept(tokens)
        return dict.fromkeys(tokens, 1.0)

    def _accept(self, tokens: NewTokens) -> None:
        """Record each row's new token and stream its text."""
        running = self.scheduler.running
        for key, token in tokens.items():
            seq = running[key]
            if token is None:  # sampling failed for this row only
                seq.error = "sampling failed"
            else:
                seq.add_token(token)
        self.counters.tokens_generated += sum(t is not None for t in tokens.values())

    def _retire(self, seqs: list[Sequence]) -> None:
        """Finish the sequences that are done and free their rows."""
        now = time.monotonic()
        for seq in seqs:
            if seq.id not in self.scheduler.running:
                continue  # preempted or requeued in this step
            reason = seq.finish_reason(self.context_window, now)
            if reason is None:
                continue
            seq.finish(reason)
            self.runner.remove(seq.id)
            self.scheduler.retire(seq)

    def _fail_all(self, seqs: list[Sequence], error: str) -> None:
        for seq in seqs:
            seq.error = error
        self.runner.clear()

    def _preempt(self) -> None:
        """Out of memory: requeue the newest half of the batch and lower the batch limit."""
        preempted = self.scheduler.preempt_newest()
        logger.warning(
            "out of memory with %d running requests; batch limit now %d",
            len(self.scheduler.running),
            self.scheduler.batch_limit,
        )
        for seq in preempted:
            self.runner.remove(seq.id)
        self.scheduler.requeue(preempted)

    def _die(self, err: BaseException) -> None:
        message = f"engine dead: {err.__class__.__name__}: {err}"
        logger.critical(message, exc_info=err)
        self._dead = message
        for seq in self.scheduler.drain():
            seq.finish(FinishReason.ERROR, error="engine dead")
