"""Deskhand's generation engine: one resident model, many conversations batched together.

Public surface: `Engine` (submit / cancel / count_tokens / stats / shutdown), its value
types and errors, and `start_engine(settings)` to load the configured model.
"""

from engine.engine import Engine, EngineConfig, RequestHandle
from engine.errors import (
    EngineDead,
    EngineError,
    EngineOverloaded,
    EngineShutdown,
    ModelLoadError,
    PromptTooLong,
)
from engine.types import ChatMessage, Completion, EngineStats, FinishReason, SamplingParams


def start_engine(settings: object) -> Engine:
    """Load the configured model and start the engine (imports torch)."""
    from engine.startup import start_engine as _start

    return _start(settings)


__all__ = [
    "ChatMessage",
    "Completion",
    "Engine",
    "EngineConfig",
    "EngineDead",
    "EngineError",
    "EngineOverloaded",
    "EngineShutdown",
    "EngineStats",
    "FinishReason",
    "ModelLoadError",
    "PromptTooLong",
    "RequestHandle",
    "SamplingParams",
    "start_engine",
]
