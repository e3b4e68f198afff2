"""The engine's public value types: what a caller sends in and gets back.

Plain frozen dataclasses, free of torch and of Slack, so any layer can import them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TypedDict


class ChatMessage(TypedDict):
    role: str  # "system" | "user" | "assistant"
    content: str


@dataclass(frozen=True, slots=True)
class SamplingParams:
    """How to sample one request. temperature 0 is greedy and deterministic."""

    max_new_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None
    timeout_s: float | None = None  # wall clock from submit to the last token
    ignore_eos: bool = False  # keep going past end-of-turn (benchmarks, tests)
    repetition_penalty: float = 1.0  # >1 discourages repeating its own tokens (local engine)

    def validate(self) -> None:
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if not 0.0 <= self.temperature <= 5.0:
            raise ValueError(f"temperature must be in [0, 5], got {self.temperature}")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if not 1.0 <= self.repetition_penalty <= 2.0:
            raise ValueError(f"repetition_penalty must be in [1, 2], got {self.repetition_penalty}")
        if self.timeout_s is not None and self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {self.timeout_s}")


class FinishReason(enum.StrEnum):
    STOP = "stop"  # the model ended its turn
    LENGTH = "length"  # max_new_tokens or the context window reached
    CANCELLED = "cancelled"  # cancel() or engine shutdown
    TIMEOUT = "timeout"  # the request's timeout_s passed
    ERROR = "error"  # this request failed; see Completion.error


@dataclass(frozen=True, slots=True)
class Completion:
    """The final result of one request."""

    request_id: int
    text: str
    token_ids: list[int]
    prompt_tokens: int
    output_tokens: int
    finish_reason: FinishReason
    queue_wait_s: float
    ttft_s: float | None  # submit -> first token; None when no token was produced
    total_s: float
    error: str | None = None
    # This request's share of engine time: its own prefill plus, for each decode step it was
    # in, that step's wall time divided by the rows in the step (so batching lowers it).
    # Remote engines report wall time. Metering turns it into cost per answer.
    engine_s: float = 0.0


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What serves the requests: the model's name, where it runs, and the sizes it runs with."""

    name: str  # the model (a remote engine: the served model's id)
    device: str  # "cpu", "cuda:0", … or "remote"
    context_window: int
    max_rows: int  # requests generated at once
    dtype: str = ""  # "" when not known (a remote server)
    parameters: int = 0  # 0 when not known (a remote server)
    quantization: str = "none"  # "int8": int8 weights
    url: str = ""  # a remote engine's server


@dataclass(frozen=True, slots=True)
class EngineStats:
    """A snapshot for dashboards and the bot's status line."""

    running: int
    queued: int
    max_running: int
    max_queue: int
    requests_finished: int
    tokens_generated: int
    prompt_tokens: int
    busy_s: float
    uptime_s: float
    decode_tok_s: float  # tokens generated / busy time
    extra: dict[str, float] = field(default_factory=dict)  # e.g. prefix_hit_rate
    unhealthy_reason: str | None = None  # dead, or a step stuck past ENGINE_STALL_S
