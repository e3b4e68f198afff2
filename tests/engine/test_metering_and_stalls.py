"""Metering (each request's share of engine time) and a stuck engine (deadlines still hold)."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest

from engine import EngineDead, FinishReason, SamplingParams
from engine.model.runner import ModelRunner
from engine.testing import make_tiny_engine
from tests.engine.conftest import ask
from tests.helpers import wait_until


def test_shares_sum_to_busy_time_and_batching_lowers_each_share() -> None:
    engine = make_tiny_engine(max_running=8)
    try:
        params = SamplingParams(max_new_tokens=40, ignore_eos=True)
        alone = engine.generate(ask("metered question 0"), params)
        handles = [engine.submit(ask(f"metered question {i}"), params) for i in range(1, 9)]
        batched = [h.result(timeout=60) for h in handles]
        busy = engine.stats().busy_s
        total = alone.engine_s + sum(r.engine_s for r in batched)
        assert all(r.engine_s > 0 for r in [alone, *batched])
        assert total == pytest.approx(busy, rel=0.02, abs=0.005)
        mean_batched = sum(r.engine_s for r in batched) / len(batched)
        assert mean_batched < alone.engine_s  # eight rows share each decode step
        assert engine.stats().uptime_s >= busy
    finally:
        engine.shutdown()


class _HangingDecode(ModelRunner):
    """decode() blocks (as a wedged device would) once `hang` is set, until `release` is."""

    hang = threading.Event()
    release = threading.Event()

    def _decode_logits(self):
        if _HangingDecode.hang.is_set():
            _HangingDecode.release.wait()
        return super()._decode_logits()


def test_a_hung_decode_step_still_times_out_requests_and_turns_health_red() -> None:
    _HangingDecode.hang.clear()
    _HangingDecode.release.clear()
    engine = make_tiny_engine(runner_class=_HangingDecode, stall_s=2.0)
    try:
        forever = SamplingParams(max_new_tokens=100_000, ignore_eos=True)
        timed = engine.submit(ask("with a deadline"), replace(forever, timeout_s=0.8))
        open_ended = engine.submit(ask("without a deadline"), forever)
        next(iter(timed))
        _HangingDecode.hang.set()
        started = time.monotonic()
        streamed = list(timed)  # must end at the deadline although no step returns
        result = timed.result(timeout=0)
        assert result.finish_reason is FinishReason.TIMEOUT
        assert time.monotonic() - started < 1.5
        assert "".join(streamed) in result.text
        assert engine.is_alive  # one slow step is not a stall yet
        wait_until(lambda: not engine.is_alive, timeout=5)
        reason = engine.stats().unhealthy_reason
        assert reason is not None and "stalled" in reason
        # a request with no deadline is failed with the reason, not left waiting forever
        stuck = open_ended.result(timeout=5)
        assert stuck.finish_reason is FinishReason.ERROR and "stalled" in (stuck.error or "")
        with pytest.raises(EngineDead, match="stalled"):
            engine.submit(ask("while stuck"))
        # the step returns at last: the engine recovers and frees both rows
        _HangingDecode.hang.clear()
        _HangingDecode.release.set()
        wait_until(lambda: engine.is_alive and engine.runner.num_rows == 0, timeout=5)
        assert engine.stats().unhealthy_reason is None
        after = engine.generate(ask("after"), SamplingParams(max_new_tokens=5, ignore_eos=True))
        assert after.output_tokens == 5
        assert engine.stats().requests_finished == 3  # each request counted once
    finally:
        _HangingDecode.release.set()
        engine.shutdown()
