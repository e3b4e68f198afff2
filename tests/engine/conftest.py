"""Engine fixtures: a tiny random model engine (fast) and the real default model (slow)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from deskhand.settings import Settings
from engine import Engine
from engine.remote.tokenizer import TextTokenizer, load_tokenizer
from engine.testing import make_tiny_engine
from engine.testing.reference import generate_one


@pytest.fixture(scope="module")
def tiny_engine() -> Iterator[Engine]:
    engine = make_tiny_engine(max_running=8, max_queue=32)
    yield engine
    engine.shutdown()


def ask(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def submit_staggered(engine, conversations, params, gap_s):
    """Submit each conversation from its own thread, the i-th after i * gap_s seconds; the
    results in order."""
    handles = [None] * len(conversations)

    def submit(i: int) -> None:
        time.sleep(i * gap_s)  # arrivals spread over the run: later ones join a busy batch
        handles[i] = engine.submit(conversations[i], params)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(len(conversations))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [h.result(timeout=300) for h in handles]


def generate_alone(engine, conversations, n):
    """The reference: each conversation's `n` greedy tokens from plain `generate`, alone."""
    model = engine.runner.model
    return [generate_one(model, engine.chat.encode(c), n, None) for c in conversations]


def differing_from_alone(engine, conversations, results, n):
    """The indices of the results whose tokens differ from generate_alone's."""
    expected = generate_alone(engine, conversations, n)
    return [i for i, (r, e) in enumerate(zip(results, expected, strict=True)) if r.token_ids != e]


@pytest.fixture(scope="module")
def tokenizer() -> TextTokenizer:
    """The default model's tokenizer as the remote engine uses it."""
    return load_tokenizer("", Settings(_env_file=None).cache_dir)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def real_engine_fp32() -> Iterator[Engine]:
    """The real default model (from its cached conversion) in float32 on the CPU."""
    from engine import start_engine

    settings = Settings(
        device="cpu", dtype="float32", quantize="none", max_batch=16, _env_file=None
    )  # the oracle runs on unquantized weights
    engine = start_engine(settings.engine_options())
    yield engine
    engine.shutdown()
