"""`deskhand bench engine --peer openai`'s measurement, small: the remote path against the
same llama.cpp in process, on a llama.cpp server the bench starts itself."""

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
    assert report["openai_server"].startswith("llama_cpp.server")
    assert report["openai_finish_reasons"] == ["length"]  # exactly the budget
    assert report["openai_sequential_tok_s"] > 0 and report["openai_concurrent_tok_s"] > 0
    assert report["llama_cpp_in_process_tok_s"] > 0
    assert isinstance(report["http_overhead_ms_per_token"], float)
    # greedy, same GGUF, same llama.cpp: the HTTP path changes nothing in the answer
    assert report["openai_same_text_as_in_process"] == "3/3"
