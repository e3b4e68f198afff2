"""The answer pool: admission sized to the engine's capacity, and the registry Stop uses.

Bolt's listener threads stay free for acks (its default pool of 5 would also cap batching):
each accepted question gets one of our pre-started threads until its answer is written, and
when every slot is taken admission fails at once, so the caller can say "busy" right away.
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.types import Question
from engine import RequestHandle

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class AnswerJob:
    """One question on its way to an answer; `stop()` is safe from any thread."""

    question: Question
    prefetched: Sequence[Mapping[str, Any]] | None = None  # thread already read by routing
    response_url: str | None = None  # slash commands
    ephemeral: bool = False  # answer privately through response_url
    ack_shown: bool = False  # the ack already showed a private message to replace
    id: str = field(default_factory=lambda: secrets.token_hex(6))
    _handle: RequestHandle | None = None
    _stopped: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def stop_requested(self) -> bool:
        return self._stopped.is_set()

    def stop(self) -> None:
        """Cancel generation (frees the engine slot within one step); the writer keeps the
        partial answer and marks it stopped."""
        with self._lock:
            self._stopped.set()
            handle = self._handle
        if handle is not None:
            handle.cancel()

    def attach(self, handle: RequestHandle) -> None:
        with self._lock:
            self._handle = handle
            stopped = self._stopped.is_set()
        if stopped:
            handle.cancel()


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

    @property
    def active(self) -> int:
        with self._lock:
            return len(self._active)

    def shutdown(self, *, wait: bool = True, timeout_s: float = 30.0) -> None:
        """Stop every job and wait for the writers to finish their messages."""
        self._closed = True
        with self._lock:
            jobs = list(self._active.values())
        for job in jobs:
            job.stop()
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
