"""Engine fixtures: a tiny random model engine (fast) and the real default model (slow)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine import Engine
from engine.testing import make_tiny_engine


@pytest.fixture(scope="module")
def tiny_engine() -> Iterator[Engine]:
    engine = make_tiny_engine(max_running=8, max_queue=32)
    yield engine
    engine.shutdown()


def ask(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


@pytest.fixture(scope="session")
def real_engine_fp32() -> Iterator[Engine]:
    """The real default model (from its cached conversion) in float32 on the CPU."""
    from deskhand.settings import Settings
    from engine import start_engine

    settings = Settings(
        device="cpu", dtype="float32", quantize="none", max_batch=16, _env_file=None
    )  # the oracle runs on unquantized weights
    engine = start_engine(settings.engine_options())
    yield engine
    engine.shutdown()
