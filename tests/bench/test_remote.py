"""`deskhand bench engine --peer openai`'s measurement, small: the remote path, one request at
a time and all at once, on a llama-server (its own process) the bench starts itself."""

from __future__ import annotations

import pytest

from bench.remote import openai_peer
from bench.workload import build_prompts
from deskhand.settings import Settings
from engine.remote.llama_server import missing_reason

pytestmark = pytest.mark.slow


def test_the_openai_peer_reports_throughput_overhead_and_identical_text() -> None:
    if reason := missing_reason():
        pytest.skip(reason)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    report = openai_peer(settings, None, build_prompts(3), new_tokens=40, threads=1)
    assert report["openai_server"].startswith("llama-server started here (-np 3")
    assert report["openai_finish_reasons"] == ["length"]  # exactly the budget
    assert report["openai_sequential_tok_s"] > 0 and report["openai_concurrent_tok_s"] > 0
    assert report["openai_ttft_p95_s"] >= report["openai_ttft_p50_s"] > 0
    # greedy on the same server: batching over its slots changes no answer
    assert report["openai_same_text_alone_and_together"] == "3/3"
