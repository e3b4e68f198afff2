"""The scheduler: who waits, who runs, and who is prefilled next (no torch, no model).

It owns the waiting queue (bounded: a full engine refuses at once), the running set, the
batch limit (lowered after an out-of-memory step, whose newest sequences it preempts back
to the front of the queue), and admission: each engine step it picks the waiting
sequences to prefill whole, within a padded-token budget, and the one long prompt to
prefill chunk by chunk. Counts are read off the collections, never kept by hand.
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass, field

from engine.errors import EngineOverloaded
from engine.sequence import Sequence, SequenceStatus
from engine.types import FinishReason


@dataclass(slots=True)
class StepPlan:
    newcomers: list[Sequence] = field(default_factory=list)  # prefill whole, this step
    chunked: Sequence | None = None  # a long prompt: prefill its next chunk, this step


class Scheduler:
    def __init__(
        self,
        *,
        max_running: int,
        max_queue: int,
        prefill_tokens_per_step: int,
        prefill_chunk_tokens: int = 0,
    ) -> None:
        self.max_running, self.max_queue = max_running, max_queue
        self.prefill_tokens_per_step = prefill_tokens_per_step
        self.chunk_tokens = prefill_chunk_tokens  # 0: never chunk
        self.lock = threading.Condition()
        self.waiting: collections.deque[Sequence] = collections.deque()
        self.running: dict[int, Sequence] = {}  # by id; includes a chunked prefill in flight
        self.chunked: Sequence | None = None
        self.batch_limit = max_running
        self.stopping = False

    # -- any thread ------------------------------------------------------------------------

    def add(self, seq: Sequence) -> None:
        """Queue a sequence or raise EngineOverloaded (call with the lock held)."""
        if len(self.running) + len(self.waiting) >= self.max_running + self.max_queue:
            raise EngineOverloaded(len(self.running), len(self.waiting))
        self.waiting.append(seq)
        self.lock.notify_all()

    def cancel(self, seq: Sequence) -> None:
        with self.lock:
            seq.cancel_requested = True
            if seq.status is SequenceStatus.WAITING and seq in self.waiting:
                self.waiting.remove(seq)
                seq.finish(FinishReason.CANCELLED)
            self.lock.notify_all()

    def queue_position(self, seq: Sequence) -> int | None:
        with self.lock:
            for i, waiting in enumerate(self.waiting):
                if waiting is seq:
                    return i + 1
        return None

    # -- the engine thread -------------------------------------------------------------------

    def next_step(self) -> StepPlan | None:
        """Wait for work, expire queued requests, and plan the step (None: shut down)."""
        with self.lock:
            while True:
                self._drop_finished_waiting()
                if self.running or self.waiting:
                    break
                if self.stopping:
                    return None
                self.lock.wait(timeout=1.0)
            plan = StepPlan(chunked=self.chunked)
            width = 0
            budget = self.prefill_tokens_per_step
            while self.waiting and len(self.running) < self.batch_limit:
                candidate = self.waiting[0]
                size = len(candidate.tokens)
                if self.chunk_tokens and size > self.chunk_tokens:
                    if self.chunked is not None:
                        break  # one long prompt at a time; keep arrival order
                    self.chunked = plan.chunked = self._admit(self.waiting.popleft())
                    continue
                grown = max(width, size)
                if plan.newcomers and grown * (len(plan.newcomers) + 1) > budget:
                    break
                plan.newcomers.append(self._admit(self.waiting.popleft()))
                width = grown
            return plan

    def _admit(self, seq: Sequence) -> Sequence:
        seq.status = SequenceStatus.RUNNING
        if seq.started_at is None:
            seq.started_at = time.monotonic()
        self.running[seq.id] = seq
        return seq

    def _drop_finished_waiting(self) -> None:
        now = time.monotonic()
        for seq in list(self.waiting):
            if seq.deadline and now >= seq.deadline:
                seq.finish(FinishReason.TIMEOUT)
            if seq.completion is not None:  # timed out here or on its caller's side
                self.waiting.remove(seq)

    def chunk_done(self, seq: Sequence) -> None:
        if self.chunked is seq:
            self.chunked = None

    def retire(self, seq: Sequence) -> None:
        with self.lock:
            self.running.pop(seq.id, None)
            self.chunk_done(seq)

    def requeue(self, seqs: list[Sequence]) -> None:
        """Back to the front of the queue, in order (their prefill did not fit)."""
        with self.lock:
            for seq in reversed(seqs):
                self.running.pop(seq.id, None)
                self.chunk_done(seq)
                seq.status = SequenceStatus.WAITING
                self.waiting.appendleft(seq)

    def preempt_newest(self) -> list[Sequence]:
        """Out of memory: halve the batch limit; return the newest running sequences to
        requeue. They resume later from prompt + what they already wrote."""
        with self.lock:
            by_age = sorted(self.running.values(), key=lambda s: s.started_at or 0.0)
            keep = max(1, len(by_age) // 2)
            self.batch_limit = keep
            return by_age[keep:]

    def drain(self) -> list[Sequence]:
        """Everything not finished, running and waiting; empties the scheduler."""
        with self.lock:
            seqs = [*self.running.values(), *self.waiting]
            self.running.clear()
            self.waiting.clear()
            self.chunked = None
            return seqs
