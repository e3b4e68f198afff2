"""Both CPU weight paths run on any CPU, and DTYPE=auto/QUANTIZE=auto picks between them by
measuring: int8 (fbgemm) where there is no native bf16, else whichever decodes faster.

bf16 runs here even without AVX512_BF16/AMX (emulated, slowly), so a machine of the other
kind never meets untested code: the engine answers in bf16, the lean decode step equals
transformers' forward in bf16, and the chooser times both paths on a tiny model."""

from __future__ import annotations

import json

import pytest
import torch

from engine import SamplingParams
from engine.model.cpu_path import choose_cpu_path, decode_step_ms
from engine.testing import make_byte_tokenizer, make_tiny_engine, make_tiny_model
from engine.testing.reference import generate_one


def test_without_native_bf16_the_cpu_path_is_int8_and_nothing_is_measured(tmp_path) -> None:
    tokenizer = make_byte_tokenizer()
    model = make_tiny_model(len(tokenizer))
    path = choose_cpu_path(
        model, tokenizer, name="tiny", rows=4, threads=1, cache_dir=tmp_path, native_bf16=False
    )
    assert (path.dtype, path.quantize) == ("float32", "int8")
    assert "no native bf16" in path.reason
    assert not (tmp_path / "cpu-path.json").exists()


def test_with_native_bf16_both_paths_are_timed_the_faster_kept_and_cached(tmp_path) -> None:
    tokenizer = make_byte_tokenizer()
    model = make_tiny_model(len(tokenizer), layers=2)
    before = [p.clone() for p in model.parameters()]
    first = choose_cpu_path(
        model, tokenizer, name="tiny", rows=4, threads=1, cache_dir=tmp_path, native_bf16=True
    )
    assert first.int8_step_ms and first.bf16_step_ms  # both measured, both > 0
    faster_is_int8 = first.int8_step_ms <= first.bf16_step_ms
    assert (first.dtype, first.quantize) == (
        ("float32", "int8") if faster_is_int8 else ("bfloat16", "none")
    )
    assert f"{first.int8_step_ms:.1f} ms with int8" in first.reason
    assert f"{first.bf16_step_ms:.1f} ms in bf16" in first.reason
    # the measurement ran on copies: the model to serve is untouched
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert next(model.parameters()).dtype is torch.float32

    again = choose_cpu_path(
        model, tokenizer, name="tiny", rows=4, threads=1, cache_dir=tmp_path, native_bf16=True
    )
    assert again.reason.endswith(", cached") and again.dtype == first.dtype
    assert len(json.loads((tmp_path / "cpu-path.json").read_text())) == 1
    other_batch = choose_cpu_path(
        model, tokenizer, name="tiny", rows=8, threads=1, cache_dir=tmp_path, native_bf16=True
    )
    assert not other_batch.reason.endswith(", cached")  # keyed by batch size too


@pytest.mark.parametrize("quantize,dtype", [("int8", torch.float32), ("none", torch.bfloat16)])
def test_a_decode_step_is_timed_on_either_path(quantize: str, dtype: torch.dtype) -> None:
    tokenizer = make_byte_tokenizer()
    model = make_tiny_model(len(tokenizer))
    assert decode_step_ms(model, tokenizer, rows=3, quantize=quantize, dtype=dtype) > 0


def test_the_engine_answers_in_bf16_on_the_cpu_as_generate_does() -> None:
    engine = make_tiny_engine(max_running=4, dtype="bfloat16", prefix_cache_mb=8)
    try:
        assert engine.runner.dtype is torch.bfloat16
        conversations = [
            [{"role": "user", "content": f"question {i} " * (i + 2)}] for i in range(4)
        ]
        params = SamplingParams(max_new_tokens=8, ignore_eos=True)
        handles = [engine.submit(c, params) for c in conversations]
        results = [h.result(timeout=120) for h in handles]
        for conversation, result in zip(conversations, results, strict=True):
            assert len(result.token_ids) == 8
            alone = generate_one(engine.runner.model, engine.chat.encode(conversation), 8, None)
            # a random model's bf16 logits are nearly tied: the first four tokens must agree
            # (all eight did, for every seed tried)
            assert result.token_ids[:4] == alone[:4]
    finally:
        engine.shutdown()


@pytest.mark.slow
@pytest.mark.parametrize("native_bf16", [False, True], ids=["avx2-cpu", "bf16-cpu"])
def test_start_engine_serves_the_chosen_path_and_logs_why(
    native_bf16: bool, tmp_path, monkeypatch, caplog
) -> None:
    """The real default model under DTYPE=auto QUANTIZE=auto, as on either kind of CPU."""
    import logging

    import engine.model.cpu_path as cpu_path
    from deskhand.settings import Settings
    from engine import start_engine

    monkeypatch.setattr(cpu_path, "cpu_has_bf16", lambda: native_bf16)
    verdicts = tmp_path / "cpu-path.json"  # not the machine's own cached verdict
    monkeypatch.setattr(cpu_path, "verdicts_path", lambda _cache_dir: verdicts)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        device="cpu",
        dtype="auto",
        quantize="auto",
        max_batch=2,
    )
    with caplog.at_level(logging.INFO, logger="engine.startup"):
        engine = start_engine(settings.engine_options())
    try:
        logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("weights:")]
        assert len(logged) == 1, caplog.text
        chosen = (engine.runner.dtype, engine.runner.info.quantization)
        if native_bf16:
            assert "decode step measured" in logged[0]
            expected = json.loads(verdicts.read_text()).popitem()[1]
            assert chosen == (getattr(torch, expected["dtype"]), expected["quantize"])
        else:
            assert chosen == (torch.float32, "int8") and "no native bf16" in logged[0]
        answer = engine.generate(
            [{"role": "user", "content": "Say hello."}], SamplingParams(max_new_tokens=8)
        )
        assert answer.text.strip()
    finally:
        engine.shutdown()


def test_the_choice_and_its_log_line_say_the_same_figures(tmp_path, monkeypatch) -> None:
    # 2.6549 ms prints as 2.7 but is kept as 2.65, which prints as 2.6: the figures are rounded
    # once, before the choice and the log line, so the cached verdict repeats the log exactly.
    timings = {"int8": 2.6549, "bf16": 2.6451}
    monkeypatch.setattr(
        "engine.model.cpu_path.decode_step_ms",
        lambda *a, quantize=None, dtype=None, **k: timings["int8" if quantize else "bf16"],
    )
    path = choose_cpu_path(
        None, None, name="tiny", rows=4, threads=1, cache_dir=tmp_path, native_bf16=True
    )
    assert (path.int8_step_ms, path.bf16_step_ms) == (2.65, 2.65)
    assert (path.dtype, path.quantize) == ("float32", "int8")  # a tie keeps int8
    assert "2.6 ms with int8 weights and 2.6 ms in bf16" in path.reason
