"""The engine on each family people deploy, as tiny random models built in code.

Each architecture runs the oracle (16 staggered requests, token-identical to `generate`
alone, float64), with the prefix cache and chunked prefill on so every cache path is
covered, and the cancel and overload checks. Unsupported ones fail at start-up by name.
"""

from __future__ import annotations

import pytest

from engine import EngineOverloaded, FinishReason, ModelLoadError, SamplingParams
from engine.errors import UnsupportedModel
from engine.model.runner import ModelRunner
from engine.testing import make_byte_tokenizer, make_tiny_engine
from engine.testing.tiny import ARCHITECTURES, make_tiny_model
from tests.engine.conftest import ask, differing_from_alone, submit_staggered
from tests.helpers import wait_until

VOCAB = len(make_byte_tokenizer())


def _engine(architecture: str, **options):
    model = make_tiny_model(VOCAB, architecture=architecture, dtype="float64", seed=1)
    return make_tiny_engine(model=model, **options)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_sixteen_staggered_requests_match_generate(architecture: str) -> None:
    engine = _engine(
        architecture,
        max_running=16,
        prefix_cache_mb=16,
        prefix_block_tokens=16,
        prefill_chunk_tokens=200,  # the longest prompts (about 250 tokens) go chunk by chunk
    )
    try:
        shared = "Context: the shop opens at nine and closes at six. " * 2
        conversations = [
            [
                {"role": "system", "content": shared},
                {"role": "user", "content": f"Q{i} " + "why? " * (i % 6) * (1 + 6 * (i % 4 == 3))},
            ]
            for i in range(16)
        ]
        params = SamplingParams(max_new_tokens=20, ignore_eos=True)
        results = submit_staggered(engine, conversations, params, gap_s=0.01)
        mismatched = differing_from_alone(engine, conversations, results, 20)
        assert mismatched == []
        assert engine.stats().extra["prefix_hit_rate"] > 0
    finally:
        engine.shutdown()


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_cancel_and_overload(architecture: str) -> None:
    engine = _engine(architecture, max_running=2, max_queue=1)
    try:
        forever = SamplingParams(max_new_tokens=100_000, ignore_eos=True)
        running = [engine.submit(ask(f"r{i}"), forever) for i in range(2)]
        queued = engine.submit(ask("queued"), SamplingParams(max_new_tokens=3, ignore_eos=True))
        wait_until(lambda: engine.stats().running == 2)
        with pytest.raises(EngineOverloaded):
            engine.submit(ask("one too many"))
        running[0].cancel()
        assert running[0].result(timeout=10).finish_reason is FinishReason.CANCELLED
        assert queued.result(timeout=10).output_tokens == 3  # took the freed row
        running[1].cancel()
        wait_until(lambda: engine.runner.num_rows == 0)
    finally:
        engine.shutdown()


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_int8_with_outlier_channels_runs_each_family_per_row_exact(architecture: str) -> None:
    model = make_tiny_model(VOCAB, architecture=architecture, dtype="float32", seed=1)
    prompts = [list(range(3, 90)), list(range(120, 200))]
    engine = make_tiny_engine(model=model, quantize="int8", calibration=prompts)
    try:
        assert engine.runner.info.quantization == "int8"
        params = SamplingParams(max_new_tokens=10, ignore_eos=True)
        handles = [engine.submit(ask(f"question {i}"), params) for i in range(6)]
        results = [h.result(timeout=30) for h in handles]
        assert all(r.output_tokens == 10 for r in results)
        assert engine.generate(ask("question 4"), params).token_ids == results[4].token_ids
    finally:
        engine.shutdown()


@pytest.mark.parametrize("architecture", ["mistral", "gemma3_text"])
def test_sliding_window_caps_the_context_window_explicitly(architecture: str) -> None:
    import transformers

    model = make_tiny_model(VOCAB, architecture=architecture, dtype="float64")
    model.config.sliding_window = 48
    engine = make_tiny_engine(model=model, context_window=1024)
    try:
        assert engine.context_window == 48  # no layer can ever attend past its window
        result = engine.generate(ask("x" * 10), SamplingParams(max_new_tokens=500, ignore_eos=True))
        assert result.finish_reason is FinishReason.LENGTH
        assert result.prompt_tokens + result.output_tokens == 48
        assert isinstance(model, transformers.PreTrainedModel)
    finally:
        engine.shutdown()


def test_an_unsupported_architecture_fails_at_start_up_naming_it() -> None:
    import transformers

    config = transformers.GPT2Config(vocab_size=VOCAB, n_embd=32, n_layer=1, n_head=2)
    model = transformers.GPT2LMHeadModel(config)
    with pytest.raises(UnsupportedModel, match="gpt2") as excinfo:
        ModelRunner(model, name="gpt2", max_rows=2, context_window=128)
    assert isinstance(excinfo.value, ModelLoadError)  # start-up reports it like a load error
    assert "supported:" in str(excinfo.value)
