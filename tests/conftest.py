"""Shared pytest configuration: GPU tests skip themselves where there is no CUDA device; the
store's backends (`store_url`: SQLite and a throw-away PostgreSQL cluster); the llama.cpp
server fixtures (a real OpenAI-compatible server) and `fake` (a scripted one) for remote-engine
tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.remote.llama_server import LlamaServer, missing_reason
from engine.remote.tokenizer import default_gguf_path
from store.testing import PostgresCluster, PostgresUnavailable
from tests.engine.fake_openai import FakeOpenAI

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


# --- the store's two backends ------------------------------------------------------------
@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL cluster for the whole session (initdb as an unprivileged user, loopback
    port); skips with the reason when no server binaries are installed."""
    cluster = PostgresCluster()
    try:
        url = cluster.start()
    except PostgresUnavailable as err:
        cluster.stop()
        pytest.skip(f"PostgreSQL unavailable: {err}")
    yield url
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The same test on SQLite (a file in tmp_path) and on PostgreSQL (a fresh database)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'deskhand.sqlite'}"
        return
    base: str = request.getfixturevalue("postgres_url")
    yield from fresh_postgres_database(base, tmp_path.name)


@pytest.fixture
def postgres_store_url(postgres_url: str, tmp_path: Path) -> Iterator[str]:
    """A fresh PostgreSQL database for one test (several replicas share it)."""
    yield from fresh_postgres_database(postgres_url, tmp_path.name)


def fresh_postgres_database(base_url: str, hint: str) -> Iterator[str]:
    """CREATE DATABASE for one test, DROP it afterwards."""
    import re

    from sqlalchemy import create_engine, text

    name = "t_" + re.sub(r"[^a-z0-9_]", "_", hint.lower())[-50:]
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# --- a real OpenAI-compatible server (remote engine tests) --------------------------------


def _start_llama_server() -> LlamaServer:
    """llama.cpp's llama-server (4 parallel slots) on the packaged GGUF, ready; skips saying
    why when it cannot start (not built, or it crashes on this CPU)."""
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    server = LlamaServer(default_gguf_path())
    try:
        return server.wait_ready()
    except RuntimeError as err:
        pytest.skip(f"llama-server did not start: {err}")


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def llama_server() -> Iterator[LlamaServer]:
    """One `llama-server` for the session (an engine.remote.LlamaServer)."""
    server = _start_llama_server()
    yield server
    server.stop()


@pytest.fixture
def own_llama_server() -> Iterator[LlamaServer]:
    """A server of this test's own (to kill it, say); stopped afterwards."""
    server = _start_llama_server()
    yield server
    server.stop()
