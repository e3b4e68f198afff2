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
