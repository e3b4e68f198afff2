"""Deskhand's generation engine: one resident model, many conversations batched together.

Public surface: `Engine` (submit / cancel / count_tokens / stats / shutdown), its value
types and errors, and `start_engine(settings)` to start the configured one: the model in
this process, or `engine.remote.RemoteEngine` over an OpenAI-compatible server when
ENGINE_URL is set. Both satisfy `engine.protocol.GenerationEngine`.
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
from engine.metrics import REQUEST_LATENCY_BUCKETS, TTFT_BUCKETS, RequestMetrics
from engine.prometheus import EngineCollector, model_name_of
from engine.types import ChatMessage, Completion, EngineStats, FinishReason, SamplingParams


def start_engine(settings: object) -> Engine:
    """The configured engine: a RemoteEngine when ENGINE_URL is set (only its tokenizer is
    loaded, no torch), else the model loaded in this process (imports torch)."""
    from engine.startup import start_engine as _start

    return _start(settings)


__all__ = [
    "REQUEST_LATENCY_BUCKETS",
    "TTFT_BUCKETS",
    "ChatMessage",
    "Completion",
    "DeviceFailure",
    "Engine",
    "EngineCollector",
    "EngineConfig",
    "EngineDead",
    "EngineError",
    "EngineOverloaded",
    "EngineShutdown",
    "EngineStats",
    "EngineUnreachable",
    "FinishReason",
    "ModelLoadError",
    "OutOfDeviceMemory",
    "PromptTooLong",
    "RequestHandle",
    "RequestMetrics",
    "SamplingParams",
    "UnsupportedModel",
    "model_name_of",
    "start_engine",
]
