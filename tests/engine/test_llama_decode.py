"""The lean Llama decode step gives bitwise the logits of transformers' forward."""

from __future__ import annotations

import copy

import pytest
import torch

from engine.model.llama_decode import supports_lean_decode
from engine.model.quantize import quantize_int8
from engine.model.runner import ModelRunner
from engine.testing import make_byte_tokenizer, make_tiny_model
from engine.types import SamplingParams


def _both_ways(model, prompts: list[list[int]], steps: int = 3) -> None:
    """Prefill `prompts`, then per decode step compare the lean logits with transformers'."""
    runner = ModelRunner(model, name="t", max_rows=len(prompts), context_window=256)
    assert runner.lean_decode is not None
    greedy = SamplingParams(max_new_tokens=steps + 1, temperature=0.0, ignore_eos=True)
    runner.prefill([(i, p, greedy) for i, p in enumerate(prompts)])
    lean = runner.lean_decode
    for _ in range(steps):
        lengths = [len(row.tokens) for row in runner.rows]
        read = max(lengths) + 1
        positions = torch.tensor(lengths)[:, None]
        mask = (torch.arange(read)[None, :] <= positions)[:, None, None, :]
        ids = torch.tensor([row.last for row in runner.rows])[:, None]
        with torch.inference_mode():
            fast = runner._decode_forward(ids, positions, mask, len(prompts), read)
            runner.lean_decode = None  # transformers' forward, same cache and inputs
            reference = runner._decode_forward(ids, positions, mask, len(prompts), read)
            runner.lean_decode = lean
        assert torch.equal(fast, reference)
        runner.decode()  # on to the next position (rows of different lengths)


@pytest.mark.parametrize(
    "quantized,dtype",
    [(False, "float32"), (True, "float32"), (False, "bfloat16")],
    ids=["float32", "int8", "bfloat16"],
)
def test_the_lean_step_equals_transformers_on_a_tiny_llama(quantized: bool, dtype: str) -> None:
    tokenizer = make_byte_tokenizer()
    model = make_tiny_model(len(tokenizer), seed=3, dtype=dtype, layers=3)
    assert model.config.num_attention_heads > model.config.num_key_value_heads  # GQA packing
    if quantized:
        model = quantize_int8(model, [list(range(5, 90))])
    prompts = [list(range(10, 10 + n)) for n in (5, 17, 33, 9)]
    _both_ways(model, prompts)


def test_other_families_keep_transformers_forward() -> None:
    tokenizer = make_byte_tokenizer()
    for architecture in ("qwen2", "gemma2", "phi3"):
        model = make_tiny_model(len(tokenizer), architecture=architecture)
        assert not supports_lean_decode(model), architecture
        runner = ModelRunner(model, name="t", max_rows=1, context_window=64)
        assert runner.lean_decode is None


@pytest.mark.slow
def test_the_lean_step_equals_transformers_on_the_default_model_in_int8(
    real_engine_fp32,
) -> None:
    from engine.chat import ChatFormat
    from engine.model.quantize import calibration_prompts

    tokenizer = real_engine_fp32.tokenizer
    model = quantize_int8(
        copy.deepcopy(real_engine_fp32.runner.model), calibration_prompts(tokenizer)
    )
    chat = ChatFormat(tokenizer)
    questions = ("How do I return a bike?", "Do you ship to Ireland, and how fast?")
    prompts = [chat.encode([{"role": "user", "content": q}]) for q in questions]
    _both_ways(model, prompts, steps=4)
