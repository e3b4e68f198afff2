"""Test and benchmark helpers: tiny engines, the `generate` oracle, peers to compare against.

Not used when serving. Like engine/model, this package may import torch.

`make_tiny_engine`: a tiny randomly initialised model with a byte-level tokenizer, for fast tests.

Real code path (transformers' Llama, the slot cache, the engine), no download: the model
is built from a config in code and its tokenizer maps every byte to one token, so UTF-8
characters span several tokens exactly as they do in real byte-level BPE vocabularies.
"""

from __future__ import annotations

from typing import Any

from engine.engine import Engine, EngineConfig
from engine.testing.tiny import make_byte_tokenizer, make_tiny_model

__all__ = ["make_byte_tokenizer", "make_tiny_engine", "make_tiny_model"]


def make_tiny_engine(
    *,
    max_running: int = 8,
    max_queue: int = 32,
    context_window: int = 1024,
    seed: int = 0,
    prefill_tokens_per_step: int = 2048,
    default_timeout_s: float | None = None,
    runner_class: Any = None,
    dtype: str = "float64",
    device: str = "cpu",
    model: Any = None,
    prefill_chunk_tokens: int = 0,
    prefill_chunk_budget_s: float = 0.0,
    prefix_cache_mb: int = 0,
    prefix_block_tokens: int = 16,
    stall_s: float = 120.0,
    quantize: str = "none",
    calibration: Any = (),
) -> Engine:
    """A started engine over a fresh tiny model (shut it down when done).

    float64 by default: a random model's logits are nearly tied, so in lower precision
    greedy choices could flip with batch shape; in float64 they cannot, and exactness
    tests stay meaningful. `model`: another architecture's tiny model (see tiny.py).
    """
    from engine.model.runner import ModelRunner

    tokenizer = make_byte_tokenizer()
    if model is None:
        model = make_tiny_model(len(tokenizer), seed=seed, dtype=dtype)
    model = model.to(device)
    runner = (runner_class or ModelRunner)(
        model,
        name=f"tiny-{model.config.model_type}",
        max_rows=max_running,
        context_window=context_window,
        prefix_cache_mb=prefix_cache_mb,
        prefix_block_tokens=prefix_block_tokens,
        quantize=quantize,
        calibration=calibration,
    )
    config = EngineConfig(
        max_running=max_running,
        max_queue=max_queue,
        prefill_tokens_per_step=prefill_tokens_per_step,
        prefill_chunk_tokens=prefill_chunk_tokens,
        prefill_chunk_budget_s=prefill_chunk_budget_s,
        default_timeout_s=default_timeout_s,
        stall_s=stall_s,
    )
    return Engine(runner, tokenizer, config, eos_token_ids=[2], info=runner.info)
