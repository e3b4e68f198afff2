"""`deskhand bench engine` runs end to end and prints the figures the issue asks for."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from engine.remote.llama_server import missing_reason

KEYS = {
    "sequential_tok_s",
    "engine_fp32_tok_s",
    "engine_tok_s",
    "speedup",
    "identical_outputs",
    "ttft_p50_s",
    "ttft_p95_s",
    "peak_rss_mb",
    "load_s",
    "model",
    "device",
    "dtype",
}


@pytest.mark.slow
def test_bench_engine_prints_one_json_line_with_its_figures() -> None:
    llama_server = missing_reason() is None  # built by make test's set-up
    peer = ["--peer", "llama-server", "--peer", "llama-cpp"] if llama_server else []
    out = (
        subprocess.run(
            [
                sys.executable,
                "-m",
                "deskhand.cli",
                "bench",
                "engine",
                "--json",
                "--requests",
                "3",
                "--new-tokens",
                "6",
                "--rounds",
                "2",
                *peer,
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
        )
        .stdout.strip()
        .splitlines()
    )
    report = json.loads(out[-1])
    assert report.keys() >= KEYS
    assert report["requests"] == 3 and report["identical_outputs"] == "3/3"
    assert report["engine_tok_s"] > 0 and report["speedup"] > 0
    rounds = report["engine_tok_s_rounds"]
    assert report["rounds"] == 2 and len(rounds) == 2
    assert min(rounds) <= report["engine_tok_s"] <= max(rounds)  # the median of the rounds
    assert report["prefix_hit_rate"] > 0  # the warm-up left the system prompt cached
    if peer:  # llama-server, all at once on -np 3 and one at a time on -np 1
        assert report["peer"].startswith("llama.cpp's llama-server, its own process")
        assert len(report["llama_server_tok_s_rounds"]) == 2 and report["llama_server_tok_s"] > 0
        # median over median, as reported (tok/s are rounded to 0.1 in the report)
        ratio = report["engine_tok_s"] / report["llama_server_tok_s"]
        assert report["vs_llama_server"] == pytest.approx(ratio, abs=0.01, rel=0.05)
        assert len(report["vs_llama_server_rounds"]) == 2
        assert report["llama_server_ttft_p95_s"] >= report["llama_server_ttft_p50_s"] > 0
        assert len(report["peer_tok_s_rounds"]) == 2 and report["peer_tok_s"] > 0
        ratio = report["engine_tok_s"] / report["peer_tok_s"]
        assert report["vs_peer"] == pytest.approx(ratio, abs=0.01, rel=0.05)


def _bench(*args: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "deskhand.cli", "bench", "engine", "--json", *args],
        capture_output=True,
        text=True,
        timeout=900,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_bench_support_workload_reports_the_prefix_cache_both_ways() -> None:
    peer = ["--peer", "llama-server"] if missing_reason() is None else []
    report = _bench(
        "--workload", "support", "--requests", "4", "--new-tokens", "4", "--quantize", "none",
        *peer,
    )  # fmt: skip
    assert report["prefix_hit_rate"] > 0.3  # same system prompt, passages and first turns
    assert report["identical_cache_on_off"] == "4/4"
    for key in ("engine_tok_s", "ttft_p95_s"):
        assert report[f"{key}_cache_on"] > 0 and report[f"{key}_cache_off"] > 0
    if peer:  # the same traffic through llama-server, its prompt cache on
        assert report["llama_server_tok_s"] > 0 and report["ttft_p95_s_llama_server"] > 0
        ratio = report["engine_tok_s_cache_on"] / report["llama_server_tok_s"]
        assert report["vs_llama_server_support"] == pytest.approx(ratio, abs=0.01, rel=0.05)


@pytest.mark.slow
def test_bench_long_prompt_reports_decode_stalls_both_ways() -> None:
    report = _bench("--long-prompt", "600")
    assert report["long_prompt_tokens"] == 600 and report["prefill_chunk_tokens"] > 0
    assert report["decode_stall_max_ms_unchunked"] > 0 and report["decode_stall_max_ms_chunked"] > 0


def test_bench_quality_scores_int8_against_float32_on_a_folder_of_text(tmp_path) -> None:
    from engine.testing import make_byte_tokenizer, make_tiny_model
    from engine.testing.quality import quality

    tokenizer = make_byte_tokenizer()
    model = make_tiny_model(len(tokenizer), seed=0, dtype="float32")
    (tmp_path / "returns.md").write_text("Returns are free within 30 days of delivery. " * 20)
    (tmp_path / "notes.txt").write_text("Opening hours: nine to six, Monday to Saturday. " * 20)
    (tmp_path / "image.png").write_bytes(b"\x89PNG")  # not text: skipped
    report = quality(model, tokenizer, str(tmp_path))
    assert report["chunks"] >= 4 and report["tokens"] >= 1000
    assert report["float32"]["top1_agreement"] == 1.0
    assert report["float32"]["kl_from_float32"] == 0.0
    for variant in ("int8", "int8_without_outlier_channels"):
        assert 0.9 < report[variant]["top1_agreement"] < 1.0  # quantized, and close
        assert abs(report[variant]["perplexity"] / report["float32"]["perplexity"] - 1) < 0.05
    with pytest.raises(SystemExit, match=r"no \.md or \.txt files"):
        quality(model, tokenizer, str(tmp_path / "returns.md.d"))
