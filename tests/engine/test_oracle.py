"""The correctness oracle: batched greedy output == `model.generate` alone, token for token.

Sixteen requests of different lengths arrive at different times, join a running batch and
leave it; every one must match what plain `generate` produces for it alone. The tiny model
runs in float64 (its random logits are nearly tied); the real default model in float32.
"""

from __future__ import annotations

import pytest

from engine import SamplingParams
from engine.testing import make_tiny_engine
from engine.testing.reference import generate_one
from tests.engine.conftest import differing_from_alone, submit_staggered


def _conversations(count: int) -> list[list[dict[str, str]]]:
    return [
        [{"role": "user", "content": f"Question {i}: " + "tell me about bikes " * (i % 5 + 1)}]
        for i in range(count)
    ]


def test_requests_of_different_lengths_match_generate_alone_tiny_model() -> None:
    engine = make_tiny_engine(max_running=16)
    try:
        conversations = _conversations(16)
        lengths = [10 + 7 * (i % 6) for i in range(16)]  # some finish early, others join
        results = []
        for start in range(0, 16, 8):
            chunk = conversations[start : start + 8]
            params = [
                SamplingParams(max_new_tokens=n, ignore_eos=True)
                for n in lengths[start : start + 8]
            ]
            handles = [engine.submit(c, p) for c, p in zip(chunk, params, strict=True)]
            results += [h.result(timeout=60) for h in handles]
        model = engine.runner.model
        for conversation, n, result in zip(conversations, lengths, results, strict=True):
            expected = generate_one(model, engine.chat.encode(conversation), n, None)
            assert result.token_ids == expected
    finally:
        engine.shutdown()


def test_staggered_arrivals_match_generate_tiny_model() -> None:
    engine = make_tiny_engine(max_running=16)
    try:
        conversations = _conversations(16)
        params = SamplingParams(max_new_tokens=40, ignore_eos=True)
        results = submit_staggered(engine, conversations, params, gap_s=0.01)
        model = engine.runner.model
        for conversation, result in zip(conversations, results, strict=True):
            assert result.token_ids == generate_one(
                model, engine.chat.encode(conversation), 40, None
            )
    finally:
        engine.shutdown()


@pytest.mark.slow
def test_sixteen_staggered_requests_match_generate_real_model_fp32(real_engine_fp32) -> None:
    engine = real_engine_fp32
    conversations = [
        [{"role": "user", "content": q}]
        for q in (
            "What is the capital of France?",
            "Name three colours.",
            "How do I fix a flat tyre?",
            "Write one sentence about rain.",
            "What is 12 times 12?",
            "Say hello in Spanish.",
            "Why is the sky blue? Answer briefly.",
            "List two kinds of bicycle.",
            "What does a support desk do?",
            "Give me a synonym for quick.",
            "How many days are in a leap year?",
            "What is the opposite of cold?",
            "Suggest a name for a cat.",
            "What is a password manager?",
            "Explain what an e-bike is in one sentence.",
            "What colour are bananas?",
        )
    ]
    params = SamplingParams(max_new_tokens=24, ignore_eos=True)
    results = submit_staggered(engine, conversations, params, gap_s=0.05)
    mismatches = differing_from_alone(engine, conversations, results, 24)
    assert mismatches == []
