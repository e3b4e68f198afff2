"""The engine: a thread-safe front door (`submit`) and the one thread that drives the model.

Callers on any thread submit chat messages and get a `RequestHandle` that streams text
deltas and resolves to a `Completion`. One engine thread runs continuous batching: between
decode steps it retires finished rows and prefills newcomers into free slots, so a short
question never waits for a long answer. Only that thread calls the runner. The engine knows
nothing about Slack.
"""

from __future__ import annotations

import collections
import itertools
import logging
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from engine.chat import ChatFormat
from engine.detokenize import IncrementalDetokenizer
from engine.errors import EngineDead, EngineOverloaded, EngineShutdown, PromptTooLong
from engine.types import ChatMessage, Completion, EngineStats, FinishReason, SamplingParams

logger = logging.getLogger(__name__)


class Runner(Protocol):
    """What the engine needs from the model side (engine.model.runner.ModelRunner)."""

    context_window: int

    @property
    def num_rows(self) -> int: ...
    def prefill(
        self, prompts: Sequence[Sequence[int]], params: Sequence[SamplingParams]
    ) -> list[int | None]: ...
    def decode(self, last_tokens: Sequence[int]) -> list[int | None]: ...
    def remove(self, row: int) -> None: ...
    def clear(self) -> None: ...
    def bind_thread(self) -> None: ...


@dataclass(frozen=True, slots=True)
class EngineConfig:
    max_running: int = 16  # rows decoded together
    max_queue: int = 64  # requests waiting for a row
    prefill_tokens_per_step: int = 2048  # padded prompt tokens prefilled between two decode steps
    default_timeout_s: float | None = None


_DONE = object()


class RequestHandle:
    """One request: iterate it for text deltas; `result()` waits for the Completion."""

    def __init__(
        self, engine: Engine, request_id: int, prompt: list[int], params: SamplingParams
    ) -> None:
        self._engine = engine
        self.id = request_id
        self.prompt = prompt
        self.params = params
        self.submitted_at = time.monotonic()
        self.deadline = self.submitted_at + params.timeout_s if params.timeout_s else None
        self._deltas: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._done = threading.Event()
        self._completion: Completion | None = None
        self.cancel_requested = False
        self._resume: _Sequence | None = None  # set when preempted after running out of memory

    @property
    def prompt_tokens(self) -> int:
        return len(self.prompt)

    @property
    def queue_position(self) -> int | None:
        """1-based place in the waiting queue; None once running or finished."""
        return self._engine._queue_position(self)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def __iter__(self) -> Iterator[str]:
        while (item := self._deltas.get()) is not _DONE:
            yield item  # type: ignore[misc]

    def result(self, timeout: float | None = None) -> Completion:
        if not self._done.wait(timeout):
            raise TimeoutError(f"request {self.id} still running after {timeout} s")
        assert self._completion is not None
        return self._completion

    def cancel(self) -> None:
        self._engine.cancel(self)

    # -- engine side ----------------------------------------------------------------------

    def _push(self, delta: str) -> None:
        if delta:
            self._deltas.put(delta)

    def _complete(self, completion: Completion) -> None:
        if self._done.is_set():
            return
        self._completion = completion
        self._deltas.put(_DONE)
        self._done.set()


@dataclass(slots=True)
class _Sequence:
    """A running request's generation state (engine thread only)."""

    handle: RequestHandle
    detok: IncrementalDetokenizer
    output: list[int]
    started_at: float
    first_token_at: float | None = None
    error: str | None = None  # set when this request alone failed


class Engine:
    """Continuous-batching generation over one resident model."""

    def __init__(
        self,
        runner: Runner,
        tokenizer: Any,
        config: EngineConfig,
        *,
        eos_token_ids: Sequence[int] = (),
        info: Any = None,
    ) -> None:
        self.runner = runner
        self.tokenizer = tokenizer
        self.config = config
        self.info = info
        self.chat = ChatFormat(tokenizer, eos_token_ids)
        self.context_window = runner.context_window
        self._ids = itertools.count(1)
        self._lock = threading.Condition()
        self._waiting: collections.deque[RequestHandle] = collections.deque()
        self._running: list[_Sequence] = []  # index == runner row
        self._running_count = 0  # mirrors len(_running) for other threads
        self._batch_limit = config.max_running  # lowered after an out-of-memory step
        self._stopping = False
        self._dead: str | None = None
        self._started_at = time.monotonic()
        self._busy_s = 0.0
        self._tokens_generated = 0
        self._prompt_tokens = 0
        self._finished = 0
        self._thread = threading.Thread(target=self._loop, name="engine", daemon=True)
        self._thread.start()

    @classmethod
    def from_settings(cls, settings: Any) -> Engine:
        """Load the configured model and start an engine over it (see engine.startup)."""
        from engine.startup import start_engine

        return start_engine(settings)

    # -- front door (any thread) -------------------------------------------------------------

    def count_tokens(self, messages: Sequence[ChatMessage]) -> int:
        return len(self.chat.encode(messages))

    def submit(
        self, messages: Sequence[ChatMessage], params: SamplingParams | None = None
    ) -> RequestHandle:
        """Queue a request; raises at once when it cannot be accepted (never waits)."""
        params = params or SamplingParams()
        params.validate()
        if params.timeout_s is None and self.config.default_timeout_s:
            params = _replace_timeout(params, self.config.default_timeout_s)
        prompt = self.chat.encode(messages)
        if len(prompt) >= self.context_window:
            raise PromptTooLong(len(prompt), self.context_window)
        with self._lock:
            if self._dead:
                raise EngineDead(self._dead)
            if self._stopping:
                raise EngineShutdown("the engine is shutting down")
            queued = len(self._waiting)
            if self._running_count + queued >= self.config.max_running + self.config.max_queue:
                raise EngineOverloaded(self._running_count, queued)
            handle = RequestHandle(self, next(self._ids), prompt, params)
            self._waiting.append(handle)
            self._lock.notify_all()
        return handle

    def generate(
        self, messages: Sequence[ChatMessage], params: SamplingParams | None = None
    ) -> Completion:
        """Submit and wait: a convenience for scripts and tests."""
        return self.submit(messages, params).result()

    def cancel(self, handle: RequestHandle) -> None:
        """Stop a request: a queued one at once, a running one within one decode step."""
        with self._lock:
            handle.cancel_requested = True
            if handle in self._waiting:
                self._waiting.remove(handle)
                self._finish_unstarted(handle, FinishReason.CANCELLED)
            self._lock.notify_all()

    def stats(self) -> EngineStats:
        with self._lock:
            busy = self._busy_s
            return EngineStats(
                running=self._running_count,
                queued=len(self._waiting),
                max_running=self.config.max_running,
                max_queue=self.config.max_queue,
                requests_finished=self._finished,
                tokens_generated=self._tokens_generated,
                prompt_tokens=self._prompt_tokens,
                busy_s=busy,
                uptime_s=time.monotonic() - self._started_at,
                decode_tok_s=self._tokens_generated / busy if busy else 0.0,
            )

    @property
    def is_alive(self) -> bool:
        return self._dead is None and self._thread.is_alive()

    def shutdown(self, *, cancel: bool = True, timeout: float | None = 30.0) -> None:
        """Stop accepting work; cancel (or finish) what is in flight; wait for the thread."""
        with self._lock:
            self._stopping = True
            if cancel:
                for handle in list(self._waiting):
                    self._finish_unstarted(handle, FinishReason.CANCELLED)
                self._waiting.clear()
                for seq in self._running:
                    seq.handle.cancel_requested = True
            self._lock.notify_all()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def _queue_position(self, handle: RequestHandle) -> int | None:
        with self._lock:
            for i, waiting in enumerate(self._waiting):
                if waiting is handle:
                    return i + 1
        return None

    # -- the engine thread -------------------------------------------------------------------

    def _loop(self) -> None:
        # NOTE: the only code that calls the runner; runs on exactly one thread.
        try:
            self.runner.bind_thread()
            while True:
                newcomers = self._next_newcomers()
                if newcomers is None:
                    return
                started = time.perf_counter()
                if newcomers:
                    self._prefill(newcomers)
                if self._running:
                    self._decode_step()
                with self._lock:
                    self._busy_s += time.perf_counter() - started
        except Exception as err:  # a device failure: nothing can be trusted any more
            self._die(err)

    def _next_newcomers(self) -> list[RequestHandle] | None:
        """Wait for work; expire queued requests; pick the requests to prefill now."""
        with self._lock:
            while True:
                now = time.monotonic()
                for handle in [h for h in self._waiting if h.deadline and now >= h.deadline]:
                    self._waiting.remove(handle)
                    self._finish_unstarted(handle, FinishReason.TIMEOUT)
                if self._running or self._waiting:
                    break
                if self._stopping:
                    return None
                self._lock.wait(timeout=1.0)
            newcomers: list[RequestHandle] = []
            width = 0
            free = self._batch_limit - len(self._running)
            while self._waiting and len(newcomers) < free:
                candidate = self._waiting[0]
                grown = max(width, len(candidate.prompt))
                if newcomers and grown * (len(newcomers) + 1) > self.config.prefill_tokens_per_step:
                    break
                newcomers.append(self._waiting.popleft())
                width = grown
            self._running_count = len(self._running) + len(newcomers)
            return newcomers

    def _prefill(self, newcomers: list[RequestHandle]) -> None:
        prompts = [h.prompt + (h._resume.output if h._resume else []) for h in newcomers]
        try:
            first = self.runner.prefill(prompts, [h.params for h in newcomers])
        except Exception as err:
            if _is_device_failure(err):
                raise
            if _is_out_of_memory(err) and self._running:
                self._requeue(newcomers)
                self._shrink_batch()
            elif len(newcomers) > 1:  # isolate the failing request: one by one
                for handle in newcomers:
                    self._prefill([handle])
            else:
                self._fail_newcomer(newcomers[0], err)
            return
        now = time.monotonic()
        for handle, token in zip(newcomers, first, strict=True):
            seq = handle._resume or _Sequence(
                handle, IncrementalDetokenizer(self.tokenizer), [], now
            )
            handle._resume = None
            self._running.append(seq)
            with self._lock:
                self._prompt_tokens += len(handle.prompt)
            self._accept(len(self._running) - 1, token)
        self._retire()

    def _decode_step(self) -> None:
        last = [seq.output[-1] for seq in self._running]
        try:
            tokens = self.runner.decode(last)
        except Exception as err:
            if _is_out_of_memory(err) and len(self._running) > 1:
                self._shrink_batch()
                return
            if _is_device_failure(err):
                raise
            logger.exception(
                "decode step failed; failing the %d requests in it", len(self._running)
            )
            for seq in self._running:
                seq.handle.cancel_requested = True
                self._finish(
                    seq, FinishReason.ERROR, error=f"decode failed: {err.__class__.__name__}"
                )
            self._running.clear()
            self.runner.clear()
            return
        for row, token in enumerate(tokens):
            self._accept(row, token)
        self._retire()

    def _accept(self, row: int, token: int | None) -> None:
        """Record one new token for a row and stream its text."""
        seq = self._running[row]
        if token is None:  # sampling failed for this row only
            seq.error = "sampling failed"
            return
        if seq.first_token_at is None:
            seq.first_token_at = time.monotonic()
        seq.output.append(token)
        with self._lock:
            self._tokens_generated += 1
        if token in self.chat.stop_token_ids and not seq.handle.params.ignore_eos:
            return
        seq.handle._push(seq.detok.add(token))

    def _retire(self) -> None:
        """Finish rows that are done; keep rows compact (mirrors runner.remove)."""
        now = time.monotonic()
        row = len(self._running) - 1
        while row >= 0:
            seq = self._running[row]
            reason = FinishReason.ERROR if seq.error else self._finish_reason(seq, now)
            if reason is not None:
                self._finish(seq, reason, error=seq.error)
                self.runner.remove(row)
                last = self._running.pop()
                if row < len(self._running):
                    self._running[row] = last
            row -= 1
        with self._lock:
            self._running_count = len(self._running)

    def _finish_reason(self, seq: _Sequence, now: float) -> FinishReason | None:
        handle, token = seq.handle, seq.output[-1] if seq.output else None
        if handle.cancel_requested:
            return FinishReason.CANCELLED
        if token in self.chat.stop_token_ids and not handle.params.ignore_eos:
            return FinishReason.STOP
        if len(seq.output) >= handle.params.max_new_tokens:
            return FinishReason.LENGTH
        if len(handle.prompt) + len(seq.output) >= self.context_window:
            return FinishReason.LENGTH
        if handle.deadline and now >= handle.deadline:
            return FinishReason.TIMEOUT
        return None

    def _finish(self, seq: _Sequence, reason: FinishReason, error: str | None = None) -> None:
        handle = seq.handle
        stops = set() if handle.params.ignore_eos else self.chat.stop_token_ids
        kept = [t for t in seq.output if t not in stops]
        text, tail = seq.detok.finish(kept)
        handle._push(tail)
        now = time.monotonic()
        handle._complete(
            Completion(
                request_id=handle.id,
                text=text,
                token_ids=kept,
                prompt_tokens=len(handle.prompt),
                output_tokens=len(kept),
                finish_reason=reason,
                queue_wait_s=seq.started_at - handle.submitted_at,
                ttft_s=(seq.first_token_at - handle.submitted_at) if seq.first_token_at else None,
                total_s=now - handle.submitted_at,
                error=error,
            )
        )
        with self._lock:
            self._finished += 1
        logger.debug("request %d finished: %s, %d tokens", handle.id, reason.value, len(kept))

    def _finish_unstarted(
        self, handle: RequestHandle, reason: FinishReason, error: str | None = None
    ) -> None:
        now = time.monotonic()
        handle._complete(
            Completion(
                request_id=handle.id,
                text="",
                token_ids=[],
                prompt_tokens=len(handle.prompt),
                output_tokens=0,
                finish_reason=reason,
                queue_wait_s=now - handle.submitted_at,
                ttft_s=None,
                total_s=now - handle.submitted_at,
                error=error,
            )
        )
        self._finished += 1

    def _fail_newcomer(self, handle: RequestHandle, err: Exception) -> None:
        logger.error(
            "request %d failed in prefill: %s", handle.id, err.__class__.__name__, exc_info=err
        )
        with self._lock:
            self._finish_unstarted(
                handle, FinishReason.ERROR, error=f"prefill failed: {err.__class__.__name__}"
            )

    def _shrink_batch(self) -> None:
        """Out of memory: requeue the newest half of the batch and lower the batch limit."""
        keep = max(1, len(self._running) // 2)
        self._batch_limit = keep
        logger.warning(
            "out of memory with %d running requests; batch limit now %d", len(self._running), keep
        )
        with self._lock:
            for row in range(len(self._running) - 1, keep - 1, -1):
                seq = self._running.pop()
                self.runner.remove(row)
                # Resume later from prompt + what it already wrote; its text was streamed already.
                seq.handle._resume = seq
                self._waiting.appendleft(seq.handle)
            self._running_count = len(self._running)

    def _requeue(self, handles: list[RequestHandle]) -> None:
        with self._lock:
            self._waiting.extendleft(reversed(handles))
            self._running_count = len(self._running)

    def _die(self, err: BaseException) -> None:
        message = f"engine dead: {err.__class__.__name__}: {err}"
        logger.critical(message, exc_info=err)
        with self._lock:
            self._dead = message
            for seq in self._running:
                self._finish(seq, FinishReason.ERROR, error="engine dead")
            self._running.clear()
            for handle in self._waiting:
                self._finish_unstarted(handle, FinishReason.ERROR, error="engine dead")
            self._waiting.clear()
            self._running_count = 0


def _replace_timeout(params: SamplingParams, timeout_s: float) -> SamplingParams:
    from dataclasses import replace

    return replace(params, timeout_s=timeout_s)


def _is_out_of_memory(err: BaseException) -> bool:
    return err.__class__.__name__ == "OutOfMemoryError" or "out of memory" in str(err).lower()


def _is_device_failure(err: BaseException) -> bool:
    text = str(err)
    return (
        err.__class__.__name__ == "AcceleratorError"
        or "CUDA error" in text
        or "device-side assert" in text
    )
