"""Shared pytest configuration: GPU tests skip themselves where there is no CUDA device; the
store's backends (`store_url`: SQLite and a throw-away PostgreSQL cluster)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from store.testing import PostgresCluster, PostgresUnavailable

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
