"""What starting an engine needs to know: the in-process model's knobs, or the remote server.

A frozen dataclass with no defaults of its own: the app's settings project it
(`Settings.engine_options()`), so the environment names and their defaults live in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal


@dataclass(frozen=True, slots=True)
class EngineOptions:
    # the in-process model
    model: str  # smollm2 | HF directory | .gguf file | hub id
    device: Literal["auto", "cpu", "cuda"]
    dtype: Literal["auto", "float32", "bfloat16", "float16"]
    torch_threads: int  # 0: choose automatically
    max_batch: int  # rows decoded together; 0: 16 on a CPU, 64 on a GPU
    max_queue: int
    max_context_tokens: int  # a cap on the model's window
    request_timeout_s: float  # a request's wall-clock limit unless it sets one
    cuda_graphs: bool
    cache_dir: Path
    prefix_cache_mb: int
    prefill_chunk_tokens: int | None  # None: 256 on a CPU, 512 on a GPU; 0: never
    quantize: Literal["auto", "none", "int8"]
    engine_stall_s: float
    # a remote OpenAI-compatible server instead (ENGINE_URL)
    engine_url: str | None
    engine_api_key: str | None = field(repr=False)  # never in a log line
    engine_model: str  # "": the first model the server lists
    engine_tokenizer: str  # "": the packaged tokenizer
    engine_timeout_s: float
    engine_max_concurrency: int
