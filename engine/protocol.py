"""What the bot and the knowledge base need from an engine, as typing Protocols.

Both the in-process `Engine` and `engine.remote.RemoteEngine` satisfy these, so callers are
typed against the contract rather than one implementation and never know which one runs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable

from engine.types import ChatMessage, Completion, EngineStats, ModelInfo, SamplingParams


class EngineLimits(Protocol):
    """The sizes callers plan with (the bot's answer pool is max_running + max_queue)."""

    @property
    def max_running(self) -> int: ...
    @property
    def max_queue(self) -> int: ...


@runtime_checkable
class GenerationHandle(Protocol):
    """One submitted request: iterate for text deltas; `result()` waits for the Completion."""

    def __iter__(self) -> Iterator[str]: ...
    def result(self, timeout: float | None = None) -> Completion: ...
    def cancel(self) -> None: ...
    @property
    def queue_position(self) -> int | None: ...
    @property
    def done(self) -> bool: ...


@runtime_checkable
class GenerationEngine(Protocol):
    """submit / count_tokens / stats / shutdown, and what callers size themselves by."""

    context_window: int
    info: ModelInfo

    @property
    def config(self) -> EngineLimits: ...
    @property
    def is_alive(self) -> bool: ...
    def submit(
        self, messages: Sequence[ChatMessage], params: SamplingParams | None = None
    ) -> GenerationHandle: ...
    def count_tokens(self, messages: Sequence[ChatMessage]) -> int: ...
    def stats(self) -> EngineStats: ...
    def shutdown(self, *, cancel: bool = True, timeout: float | None = 30.0) -> None: ...
