"""Deskhand's generation engine: one resident model, many conversations batched together.

Public surface: `Engine` (submit / cancel / count_tokens / stats / shutdown), its value
types and errors, and `start_engine(settings)` to load the configured model.
"""

from engine.engine import Engine, EngineConfig, RequestHandle
from engine.errors import (
    DeviceFailure,
    EngineDead,
    EngineError,
    EngineOverloaded,
    EngineShutdown,
    ModelLoadError,
    OutOfDeviceMemory,
    PromptTooLong,
    UnsupportedModel,
)
from engine.types import ChatMessage, Completion, EngineStats, FinishReason, SamplingParams


def start_engine(settings: object) -> Engine:
    """Load the configured model and start the engine (imports torch)."""
    from engine.startup import start_engine as _start

    return _start(settings)


__all__ = [
    "ChatMessage",
    "Completion",
    "DeviceFailure",
    "Engine",
    "EngineConfig",
    "EngineDead",
    "EngineError",
    "EngineOverloaded",
    "EngineShutdown",
    "EngineStats",
    "FinishReason",
    "ModelLoadError",
    "OutOfDeviceMemory",
    "PromptTooLong",
    "RequestHandle",
    "SamplingParams",
    "UnsupportedModel",
    "start_engine",
]
