"""Deskhand's generation engine: one resident model, many conversations batched together.

Public surface: the contract callers are typed by, `GenerationEngine` and `GenerationHandle`
(submit / count_tokens / stats / shutdown; iterate a handle for text, `result()` for the
Completion), its value types and errors, and `start_engine(options)` to start the configured
one: the model in this process (`Engine`), or `engine.remote.RemoteEngine` over an
OpenAI-compatible server when ENGINE_URL is set. Both satisfy `GenerationEngine`.
"""

from engine.engine import Engine, EngineConfig, RequestHandle
from engine.errors import (
    DeviceFailure,
    EngineDead,
    EngineError,
    EngineOverloaded,
    EngineShutdown,
    EngineUnreachable,
    ModelLoadError,
    OutOfDeviceMemory,
    PromptTooLong,
    UnsupportedModel,
)
from engine.options import EngineOptions
from engine.protocol import EngineLimits, GenerationEngine, GenerationHandle
from engine.types import (
    ChatMessage,
    Completion,
    EngineStats,
    FinishReason,
    ModelInfo,
    SamplingParams,
)


def start_engine(options: EngineOptions) -> GenerationEngine:
    """The configured engine: a RemoteEngine when ENGINE_URL is set (only its tokenizer is
    loaded, no torch), else the model loaded in this process (imports torch)."""
    from engine.startup import start_engine as _start

    return _start(options)


__all__ = [
    "ChatMessage",
    "Completion",
    "DeviceFailure",
    "Engine",
    "EngineConfig",
    "EngineDead",
    "EngineError",
    "EngineLimits",
    "EngineOptions",
    "EngineOverloaded",
    "EngineShutdown",
    "EngineStats",
    "EngineUnreachable",
    "FinishReason",
    "GenerationEngine",
    "GenerationHandle",
    "ModelInfo",
    "ModelLoadError",
    "OutOfDeviceMemory",
    "PromptTooLong",
    "RequestHandle",
    "SamplingParams",
    "UnsupportedModel",
    "start_engine",
]
