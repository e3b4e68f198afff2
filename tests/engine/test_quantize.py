"""Int8 weights on the CPU: chosen only where they pay, close to float32, the engine unchanged."""

from __future__ import annotations

import pytest
import torch

from engine import FinishReason, ModelLoadError, SamplingParams
from engine.model.quantize import RowInt8Linear, choose_quantization
from engine.testing import make_tiny_engine
from tests.engine.conftest import ask

CPU = torch.device("cpu")


def test_auto_picks_int8_only_on_a_cpu_serving_float32() -> None:
    assert choose_quantization("auto", CPU, torch.float32) == "int8"
    assert choose_quantization("auto", CPU, torch.bfloat16) == "none"
    assert choose_quantization("auto", torch.device("cuda"), torch.float32) == "none"
    assert choose_quantization("none", CPU, torch.float32) == "none"
    with pytest.raises(ModelLoadError, match="QUANTIZE=int8 needs a CPU with DTYPE=float32"):
        choose_quantization("int8", CPU, torch.bfloat16)


def test_int8_logits_stay_close_to_float32_and_the_engine_runs_on_them() -> None:
    exact = make_tiny_engine(dtype="float32")
    int8 = make_tiny_engine(dtype="float32", quantize="int8")
    try:
        assert int8.runner.info.quantization == "int8"
        assert isinstance(int8.runner.lm_head, RowInt8Linear)
        prompt = torch.tensor([list(range(3, 40))])
        with torch.no_grad():
            reference = exact.runner.model(prompt).logits[0, -1]
            quantized = int8.runner.model(prompt).logits[0, -1]
        error = (quantized - reference).abs().max() / reference.abs().max()
        assert error < 0.05
        params = SamplingParams(max_new_tokens=12, ignore_eos=True)
        handles = [int8.submit(ask(f"question {i}"), params) for i in range(6)]
        handles[0].cancel()
        results = [h.result(timeout=30) for h in handles]
        assert results[0].finish_reason is FinishReason.CANCELLED
        assert all(r.output_tokens == 12 for r in results[1:])
        # batched int8 greedy output equals int8 alone: batching stays exact when quantized
        assert int8.generate(ask("question 3"), params).token_ids == results[3].token_ids
    finally:
        exact.shutdown()
        int8.shutdown()


@pytest.mark.slow
def test_int8_real_model_still_knows_its_facts() -> None:
    from deskhand.settings import Settings
    from engine import start_engine

    int8 = start_engine(
        Settings(device="cpu", dtype="float32", quantize="int8", max_batch=4, _env_file=None)
    )
    try:
        assert int8.runner.info.quantization == "int8"
        answer = int8.generate(ask("What is the capital of France?"), SamplingParams(24)).text
        assert "Paris" in answer
    finally:
        int8.shutdown()


def test_a_row_of_int8_output_depends_only_on_that_row() -> None:
    torch.manual_seed(0)
    linear = torch.nn.Linear(96, 160)
    quantized = RowInt8Linear(linear)
    rows = torch.randn(40, 96)
    rows[5] *= 50  # an outlier row must not flatten its neighbours (one scale per batch did)
    alone = quantized(rows[3:4])
    for count in (4, 16, 17, 40):
        assert torch.equal(quantized(rows[:count])[3:4], alone)
    exact = linear(rows)
    error = (quantized(rows) - exact).norm(dim=1) / exact.norm(dim=1)
    assert error.max() < 0.05  # 7-bit rows: fbgemm's AVX2 kernel saturates at 8 bits
