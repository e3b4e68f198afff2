"""Shared pytest configuration: GPU tests skip themselves where there is no CUDA device;
the llama.cpp server fixtures (a real OpenAI-compatible server) for remote-engine tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.remote.llama_server import LlamaServer, missing_reason
from engine.remote.tokenizer import default_gguf_path

pytest_plugins = ["slackemu.pytest_plugin"]  # the `sandbox` and `make_sandbox` fixtures


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not any("gpu" in item.keywords for item in items):
        return
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords and not has_cuda:
            item.add_marker(skip_gpu)


# --- a real OpenAI-compatible server (remote engine tests) --------------------------------


def _start_llama_server() -> LlamaServer:
    """llama-cpp-python's server on the packaged GGUF, ready; skips saying how to get it."""
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    server = LlamaServer(default_gguf_path())
    try:
        return server.wait_ready()
    except RuntimeError as err:
        pytest.skip(f"llama_cpp.server did not start: {err}")


@pytest.fixture(scope="session")
def llama_server() -> Iterator[LlamaServer]:
    """One `python -m llama_cpp.server` for the session (an engine.remote.LlamaServer)."""
    server = _start_llama_server()
    yield server
    server.stop()


@pytest.fixture
def own_llama_server() -> Iterator[LlamaServer]:
    """A server of this test's own (to kill it, say); stopped afterwards."""
    server = _start_llama_server()
    yield server
    server.stop()
