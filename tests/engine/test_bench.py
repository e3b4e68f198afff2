"""`deskhand bench engine` runs end to end and prints the figures the issue asks for."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

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
    report = _bench(
        "--workload", "support", "--requests", "4", "--new-tokens", "4", "--quantize", "none"
    )
    assert report["prefix_hit_rate"] > 0.3  # same system prompt, passages and first turns
    assert report["identical_cache_on_off"] == "4/4"
    for key in ("engine_tok_s", "ttft_p95_s"):
        assert report[f"{key}_cache_on"] > 0 and report[f"{key}_cache_off"] > 0


@pytest.mark.slow
def test_bench_long_prompt_reports_decode_stalls_both_ways() -> None:
    report = _bench("--long-prompt", "600")
    assert report["long_prompt_tokens"] == 600 and report["prefill_chunk_tokens"] > 0
    assert report["decode_stall_max_ms_unchunked"] > 0 and report["decode_stall_max_ms_chunked"] > 0
