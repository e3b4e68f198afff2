"""The answer pool and the job: admission sized to the engine's capacity, one stop flag, and
what a question needs to be answered again after a restart.

Bolt's listener threads stay free for acks (its default pool of 5 would also cap batching):
each accepted question gets one of our pre-started threads until its answer is written, and
when every slot is taken admission fails at once, so the caller can say "busy" right away.
An `AnswerJob` round-trips through the store's jobs table (`to_payload` / `from_payload`).
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.types import Question
from engine import GenerationHandle

logger = logging.getLogger(__name__)

StopReason = Literal["user", "shutdown"]


@dataclass(eq=False)
class AnswerJob:
    """One question on its way to an answer; `stop()` is safe from any thread."""

    question: Question
    prefetched: Sequence[Mapping[str, Any]] | None = None  # the conversation, when known
    needs_thread_check: bool = False  # a follow-up: answer only if the bot is in the thread
    response_url: str | None = None  # slash commands
    ephemeral: bool = False  # answer privately through response_url
    ack_shown: bool = False  # the ack already showed a private message to replace
    reply_ts: list[str] = field(default_factory=list)  # a reply already begun (resumed jobs)
    resumed: bool = False
    id: str = field(default_factory=lambda: secrets.token_hex(8))
    acked: threading.Event = field(default_factory=threading.Event)  # commands: ack sent
    _handle: GenerationHandle | None = None
    _stop_reason: StopReason | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.question.kind != "command":
            self.acked.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop_reason is not None

    @property
    def stopped_for_shutdown(self) -> bool:
        """Stopped because this process is going away: the job is left for a successor."""
        return self._stop_reason == "shutdown"

    def stop(self, reason: StopReason = "user") -> None:
        """Cancel generation (frees the engine slot within one step). Stopped by the user, the
        partial answer is kept and marked stopped; for a shutdown the job stays open."""
        with self._lock:
            if self._stop_reason is None:
                self._stop_reason = reason
            handle = self._handle
        if handle is not None:
            handle.cancel()

    def attach(self, handle: GenerationHandle) -> None:
        with self._lock:
            self._handle = handle
            stopped = self._stop_reason is not None
        if stopped:
            handle.cancel()

    # --- durable form ------------------------------------------------------------------
    def to_payload(self) -> dict[str, Any]:
        """What it takes to answer this question again (the store's jobs.payload)."""
        return {
            "question": dataclasses.asdict(self.question),
            "prefetched": list(self.prefetched) if self.prefetched is not None else None,
            "needs_thread_check": self.needs_thread_check,
            "response_url": self.response_url,
            "ephemeral": self.ephemeral,
            "ack_shown": self.ack_shown,
        }

    @classmethod
    def from_payload(
        cls, job_id: str, payload: Mapping[str, Any], reply_ts: Sequence[str] = ()
    ) -> AnswerJob:
        job = cls(
            Question(**payload["question"]),
            prefetched=payload.get("prefetched"),
            needs_thread_check=bool(payload.get("needs_thread_check")),
            response_url=payload.get("response_url"),
            ephemeral=bool(payload.get("ephemeral")),
            ack_shown=bool(payload.get("ack_shown")),
            reply_ts=list(reply_ts),
            resumed=True,
            id=job_id,
        )
        job.acked.set()
        return job


class GenerationPool:
    """Runs answer jobs on `capacity` worker threads started up front (no thread is created
    while a burst of events is being acked)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = max(1, capacity)
        self._slots = threading.BoundedSemaphore(self.capacity)
        self._inbox: queue.SimpleQueue[tuple[AnswerJob, Callable[[AnswerJob], None]] | None] = (
            queue.SimpleQueue()
        )
        self._active: dict[str, AnswerJob] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._workers = [
            threading.Thread(target=self._work, name=f"answer-{i}", daemon=True)
            for i in range(self.capacity)
        ]
        for worker in self._workers:
            worker.start()

    def try_start(self, job: AnswerJob, work: Callable[[AnswerJob], None]) -> bool:
        """Start `work(job)` now, or return False at once when every slot is taken."""
        if self._closed or not self._slots.acquire(blocking=False):
            return False
        with self._lock:
            self._active[job.id] = job
        self._inbox.put((job, work))
        return True

    def get(self, job_id: str) -> AnswerJob | None:
        with self._lock:
            return self._active.get(job_id)

    def active_ids(self) -> list[str]:
        with self._lock:
            return list(self._active)

    @property
    def active(self) -> int:
        with self._lock:
            return len(self._active)

    def shutdown(self, *, wait: bool = True, timeout_s: float = 30.0) -> None:
        """Stop every job (for a shutdown: each stays open in the store, for the next process
        or another replica to finish) and wait for the writers to let go."""
        self._closed = True
        with self._lock:
            jobs = list(self._active.values())
        for job in jobs:
            job.stop("shutdown")
        for _ in self._workers:
            self._inbox.put(None)
        if wait:
            deadline = time.monotonic() + timeout_s
            for worker in self._workers:
                worker.join(max(0.0, deadline - time.monotonic()))

    def _work(self) -> None:
        while (item := self._inbox.get()) is not None:
            job, work = item
            try:
                work(job)
            except Exception:  # the pipeline handles its own errors; this is the last resort
                logger.exception("answer job %s failed", job.id)
            finally:
                with self._lock:
                    self._active.pop(job.id, None)
                self._slots.release()
