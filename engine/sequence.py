"""One request's whole life in one object: `Sequence` (engine side) behind `RequestHandle`.

A `Sequence` carries everything about a request: its prompt and parameters, its status
(waiting, running, finished), the tokens it has produced, its timings, its share of engine
time, and the stream of text deltas its caller reads. `RequestHandle` is the thin public view
a caller holds. Completion is built in exactly one place (`Sequence.finish`), and the first
finish wins: the engine thread and a caller whose deadline passed can race safely.
"""

from __future__ import annotations

import enum
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from engine.detokenize import IncrementalDetokenizer
from engine.types import Completion, FinishReason, SamplingParams

_DONE = object()
_POLL_S = 0.25  # how often a waiting caller re-checks its deadline and the engine's health


class SequenceStatus(enum.Enum):
    WAITING = "waiting"
    RUNNING = "running"
    FINISHED = "finished"


class Sequence:
    """A request's generation state. Mutated by the engine thread; `finish` by anyone."""

    def __init__(
        self,
        request_id: int,
        prompt: list[int],
        params: SamplingParams,
        tokenizer: Any,
        stop_token_ids: frozenset[int],
        on_finish: Callable[[Sequence], None] | None = None,
    ) -> None:
        self.id = request_id
        self.prompt = prompt
        self.params = params
        self.stops = frozenset() if params.ignore_eos else stop_token_ids
        self.status = SequenceStatus.WAITING
        self.output: list[int] = []
        self.detok = IncrementalDetokenizer(tokenizer)
        self.submitted_at = time.monotonic()
        self.deadline = self.submitted_at + params.timeout_s if params.timeout_s else None
        self.started_at: float | None = None  # first admitted to a row
        self.first_token_at: float | None = None
        self.last_token_at: float | None = None  # set by the engine thread (inter-token gaps)
        self.engine_s = 0.0  # its share of engine time (see Completion.engine_s)
        self.cancel_requested = False
        self.error: str | None = None  # set when this request alone failed
        self.completion: Completion | None = None
        self._on_finish = on_finish
        self.deltas: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._finish_lock = threading.Lock()
        self.done = threading.Event()

    @property
    def tokens(self) -> list[int]:
        """What the model has seen or will see: prompt plus output (resumes after preemption)."""
        return self.prompt + self.output

    def is_stop(self, token: int) -> bool:
        return token in self.stops

    def add_token(self, token: int) -> None:
        """Record one generated token and stream the text it completes."""
        if self.first_token_at is None:
            self.first_token_at = time.monotonic()
        self.output.append(token)
        if not self.is_stop(token):
            self._push(self.detok.add(token))

    def finish_reason(self, context_window: int, now: float) -> FinishReason | None:
        """Why this running sequence should stop now, or None to keep going."""
        if self.error:
            return FinishReason.ERROR
        if self.cancel_requested:
            return FinishReason.CANCELLED
        if self.output and self.is_stop(self.output[-1]):
            return FinishReason.STOP
        if len(self.output) >= self.params.max_new_tokens:
            return FinishReason.LENGTH
        if len(self.prompt) + len(self.output) >= context_window:
            return FinishReason.LENGTH
        if self.deadline and now >= self.deadline:
            return FinishReason.TIMEOUT
        return None

    def finish(self, reason: FinishReason, error: str | None = None) -> bool:
        """Build the Completion and wake the caller; False when it had finished already."""
        with self._finish_lock:
            if self.completion is not None:
                return False
            now = time.monotonic()
            kept = [t for t in self.output if not self.is_stop(t)]
            text, tail = self.detok.finish(kept) if kept else ("", "")
            self._push(tail)
            started = self.started_at if self.started_at is not None else now
            self.completion = Completion(
                request_id=self.id,
                text=text,
                token_ids=kept,
                prompt_tokens=len(self.prompt),
                output_tokens=len(kept),
                finish_reason=reason,
                queue_wait_s=started - self.submitted_at,
                ttft_s=(self.first_token_at - self.submitted_at) if self.first_token_at else None,
                total_s=now - self.submitted_at,
                error=error if error is not None else self.error,
                engine_s=self.engine_s,
            )
            self.status = SequenceStatus.FINISHED
        self.deltas.put(_DONE)
        self.done.set()
        if self._on_finish is not None:
            self._on_finish(self)
        return True

    def _push(self, delta: str) -> None:
        if delta:
            self.deltas.put(delta)


class HandleOwner(Protocol):
    """What a handle asks of its engine."""

    def cancel_sequence(self, seq: Sequence) -> None: ...
    def queue_position(self, seq: Sequence) -> int | None: ...
    def stall_reason(self) -> str | None: ...


class RequestHandle:
    """One request: iterate it for text deltas; `result()` waits for the Completion.

    Waiting never outlasts the request's deadline, even when the engine is stuck: the caller
    side then finishes the request itself (TIMEOUT), or with ERROR once the engine reports
    a stall (see Engine.is_alive).
    """

    def __init__(self, seq: Sequence, owner: HandleOwner) -> None:
        self._seq = seq
        self._owner = owner

    @property
    def id(self) -> int:
        return self._seq.id

    @property
    def prompt(self) -> list[int]:
        return self._seq.prompt

    @property
    def params(self) -> SamplingParams:
        return self._seq.params

    @property
    def prompt_tokens(self) -> int:
        return len(self._seq.prompt)

    @property
    def queue_position(self) -> int | None:
        """1-based place in the waiting queue; None once running or finished."""
        return self._owner.queue_position(self._seq)

    @property
    def done(self) -> bool:
        return self._seq.done.is_set()

    def __iter__(self) -> Iterator[str]:
        while (item := self._next()) is not _DONE:
            yield item  # type: ignore[misc]

    def result(self, timeout: float | None = None) -> Completion:
        limit = None if timeout is None else time.monotonic() + timeout
        while not self._seq.done.wait(self._wait_s(limit)):
            self._enforce_deadline()
            if limit is not None and time.monotonic() >= limit and not self.done:
                raise TimeoutError(f"request {self.id} still running after {timeout} s")
        assert self._seq.completion is not None
        return self._seq.completion

    def cancel(self) -> None:
        self._owner.cancel_sequence(self._seq)

    def _next(self) -> object:
        while True:
            try:
                return self._seq.deltas.get(timeout=self._wait_s(None))
            except queue.Empty:
                self._enforce_deadline()

    def _wait_s(self, limit: float | None) -> float:
        now = time.monotonic()
        ends = [t for t in (limit, self._seq.deadline) if t is not None]
        return max(0.0, min([now + _POLL_S, *ends]) - now) + 0.001

    def _enforce_deadline(self) -> None:
        """Finish the request from the caller's side when the engine cannot."""
        seq = self._seq
        if seq.completion is not None:
            return
        if seq.deadline is not None and time.monotonic() >= seq.deadline:
            seq.cancel_requested = True  # the engine frees its row when it next can
            seq.finish(FinishReason.TIMEOUT)
        elif (reason := self._owner.stall_reason()) is not None:
            seq.cancel_requested = True
            seq.finish(FinishReason.ERROR, error=reason)
