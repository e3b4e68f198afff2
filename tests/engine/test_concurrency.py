"""Fifty threads at once, some cancelling and some timing out: every request ends exactly once."""

from __future__ import annotations

import random
import threading

from engine import EngineOverloaded, FinishReason, SamplingParams
from engine.testing import make_tiny_engine
from tests.engine.conftest import ask
from tests.helpers import wait_until


def test_fifty_threads_every_request_ends_exactly_once_and_nothing_leaks() -> None:
    engine = make_tiny_engine(max_running=8, max_queue=64)
    outcomes: dict[int, list[FinishReason]] = {}
    streamed_ok: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(50)

    def client(i: int) -> None:
        rng = random.Random(i)
        kind = i % 5  # 0,1: finish; 2: cancel mid-stream; 3: cancel at once; 4: time out
        params = SamplingParams(
            max_new_tokens=rng.randint(5, 60) if kind < 2 else 100_000,
            ignore_eos=True,
            timeout_s=0.5 if kind == 4 else None,
        )
        start.wait()
        handle = engine.submit(ask(f"client {i}"), params)
        if kind == 3:
            handle.cancel()
        deltas = []
        for delta in handle:
            deltas.append(delta)
            if kind == 2 and len(deltas) >= 3:
                handle.cancel()
        result = handle.result(timeout=60)
        handle.cancel()  # cancelling a finished request is harmless
        with lock:
            outcomes.setdefault(result.request_id, []).append(result.finish_reason)
            streamed_ok.append("".join(deltas) == result.text)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    try:
        assert not any(t.is_alive() for t in threads), "a client hung"
        assert len(outcomes) == 50 and all(len(v) == 1 for v in outcomes.values())
        assert all(streamed_ok)
        reasons = [v[0] for v in outcomes.values()]
        assert reasons.count(FinishReason.LENGTH) == 20
        assert reasons.count(FinishReason.CANCELLED) == 20
        assert reasons.count(FinishReason.TIMEOUT) == 10
        wait_until(lambda: engine.stats().running == 0)
        stats = engine.stats()
        assert stats.queued == 0 and stats.requests_finished == 50
        assert engine.runner.num_rows == 0  # every slot was freed
    finally:
        engine.shutdown()


def test_overload_under_a_burst_is_immediate_and_partial() -> None:
    engine = make_tiny_engine(max_running=2, max_queue=3)
    accepted, refused = [], 0
    try:
        for i in range(20):
            try:
                accepted.append(
                    engine.submit(ask(str(i)), SamplingParams(max_new_tokens=200, ignore_eos=True))
                )
            except EngineOverloaded:
                refused += 1
        assert len(accepted) == 5 and refused == 15
        assert all(h.result(timeout=60).output_tokens == 200 for h in accepted)
    finally:
        engine.shutdown()
