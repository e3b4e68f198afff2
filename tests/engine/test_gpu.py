"""The engine on a CUDA device (skipped without one): exactness, cancellation and a bf16 batch.

Self-contained (runs with --noconftest on a GPU machine that lacks the Slack packages).
"""

from __future__ import annotations

import pytest
import torch

from engine import FinishReason, SamplingParams
from engine.testing import make_tiny_engine
from engine.testing.reference import generate_one

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def _ask(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def test_batched_greedy_matches_generate_alone_on_cuda() -> None:
    engine = make_tiny_engine(max_running=16, device="cuda")
    try:
        conversations = [_ask(f"question {i} " + "words " * (i % 7)) for i in range(16)]
        params = SamplingParams(max_new_tokens=32, ignore_eos=True)
        handles = [engine.submit(c, params) for c in conversations]
        results = [h.result(timeout=120) for h in handles]
        model = engine.runner.model
        for conversation, result in zip(conversations, results, strict=True):
            expected = generate_one(model, engine.chat.encode(conversation), 32, None)
            assert result.token_ids == expected
        assert engine.runner.graphs is not None and engine.runner.graphs.graphs  # replayed
    finally:
        engine.shutdown()


def test_cancel_frees_the_slot_on_cuda() -> None:
    engine = make_tiny_engine(max_running=1, device="cuda")
    try:
        long = engine.submit(_ask("a"), SamplingParams(max_new_tokens=100_000, ignore_eos=True))
        next(iter(long))
        short = engine.submit(_ask("b"), SamplingParams(max_new_tokens=4, ignore_eos=True))
        long.cancel()
        assert long.result(timeout=30).finish_reason is FinishReason.CANCELLED
        assert short.result(timeout=30).output_tokens == 4
    finally:
        engine.shutdown()


def test_bf16_batch_of_sixty_four_completes_on_cuda() -> None:
    engine = make_tiny_engine(max_running=64, max_queue=64, device="cuda", dtype="bfloat16")
    try:
        params = SamplingParams(max_new_tokens=48, ignore_eos=True)
        handles = [engine.submit(_ask(f"r{i}"), params) for i in range(64)]
        assert all(h.result(timeout=120).output_tokens == 48 for h in handles)
        assert engine.runner.num_rows == 0
    finally:
        engine.shutdown()


def test_the_kv_cache_is_allocated_once_on_cuda() -> None:
    engine = make_tiny_engine(max_running=16, device="cuda", context_window=512)
    try:
        cache = engine.runner.cache
        allocated = (cache.rows, cache.columns, cache.generation)
        assert allocated[:2] == (16, 512)  # whole budget up front
        params = SamplingParams(max_new_tokens=64, ignore_eos=True)
        handles = [engine.submit(_ask("w " * (i * 20)), params) for i in range(16)]
        assert all(h.result(timeout=120).output_tokens == 64 for h in handles)
        assert (cache.rows, cache.columns, cache.generation) == allocated  # never regrown
    finally:
        engine.shutdown()
