"""Fixtures for the knowledge-base tests: the real embedder (loaded once), settings that
touch no .env and no home directory, and a desk over the held-out fixture KB."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from deskhand.settings import Settings
from kb.desk import SupportDesk
from kb.embedder import Embedder

FIXTURES = Path(__file__).parent / "fixtures"
HELDOUT = FIXTURES / "heldout"


def make_settings(tmp: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "kb_index": tmp / "kb.sqlite",
        "kb_feedback_db": tmp / "feedback.sqlite",
        "kb_dir": None,
        "kb_channel_sets": "",
        "handoff_mention": "",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return Embedder()


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    """A writable copy of the held-out fixture KB."""
    dest = tmp_path / "kb"
    shutil.copytree(HELDOUT / "kb", dest)
    return dest


@pytest.fixture(scope="session")
def desk(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[SupportDesk]:
    """A desk over the held-out fixture KB (shared: tests must not ingest into it)."""
    tmp = tmp_path_factory.mktemp("desk")
    settings = make_settings(tmp, kb_channel_sets="CBILL=billing")
    opened = SupportDesk.open(settings.kb_config(), None, kb_dir=HELDOUT / "kb", embedder=embedder)
    yield opened
    opened.close()
