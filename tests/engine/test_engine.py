"""The engine over a tiny random model: streaming, batching, cancel, overload, timeouts, faults."""

from __future__ import annotations

import threading
import time

import pytest
import torch

from engine import (
    EngineDead,
    EngineOverloaded,
    EngineShutdown,
    FinishReason,
    PromptTooLong,
    SamplingParams,
)
from engine.model.runner import ModelRunner
from engine.testing import make_tiny_engine
from tests.engine.conftest import ask
from tests.helpers import wait_until


def test_streamed_deltas_add_up_to_the_final_text(tiny_engine) -> None:
    handle = tiny_engine.submit(ask("stream please 你好"), SamplingParams(max_new_tokens=40))
    deltas = list(handle)
    result = handle.result(timeout=10)
    assert "".join(deltas) == result.text
    assert result.output_tokens == len(result.token_ids) > 0
    assert result.prompt_tokens == handle.prompt_tokens
    assert result.finish_reason in (FinishReason.LENGTH, FinishReason.STOP)
    assert result.ttft_s is not None and 0 <= result.ttft_s <= result.total_s


def test_max_new_tokens_ends_with_length(tiny_engine) -> None:
    result = tiny_engine.generate(ask("count"), SamplingParams(max_new_tokens=7, ignore_eos=True))
    assert result.finish_reason is FinishReason.LENGTH
    assert result.output_tokens == 7


def test_greedy_is_deterministic_and_batch_independent(tiny_engine) -> None:
    params = SamplingParams(max_new_tokens=24, ignore_eos=True)
    alone = tiny_engine.generate(ask("same question"), params).token_ids
    handles = [tiny_engine.submit(ask(q), params) for q in ("same question", "other", "x" * 50)]
    assert handles[0].result(timeout=10).token_ids == alone


def test_seeded_sampling_repeats_and_differs_by_seed(tiny_engine) -> None:
    def run(seed: int) -> list[int]:
        params = SamplingParams(
            max_new_tokens=20, temperature=1.0, top_p=0.9, seed=seed, ignore_eos=True
        )
        return tiny_engine.generate(ask("sample"), params).token_ids

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_a_short_request_is_not_stuck_behind_a_long_one(tiny_engine) -> None:
    long = tiny_engine.submit(ask("long"), SamplingParams(max_new_tokens=400, ignore_eos=True))
    next(iter(long))  # the long answer is already streaming
    short = tiny_engine.submit(ask("short"), SamplingParams(max_new_tokens=5, ignore_eos=True))
    short_result = short.result(timeout=10)
    assert not long.done, "the short request finished while the long one kept running"
    assert short_result.output_tokens == 5
    assert long.result(timeout=30).output_tokens == 400


def test_cancel_stops_a_running_request_and_frees_its_slot() -> None:
    engine = make_tiny_engine(max_running=1, max_queue=4)
    try:
        first = engine.submit(ask("a"), SamplingParams(max_new_tokens=100_000, ignore_eos=True))
        next(iter(first))
        waiting = engine.submit(ask("b"), SamplingParams(max_new_tokens=3, ignore_eos=True))
        assert waiting.queue_position == 1
        first.cancel()
        result = first.result(timeout=5)
        assert result.finish_reason is FinishReason.CANCELLED
        assert 0 < result.output_tokens < 100_000
        assert waiting.result(timeout=5).output_tokens == 3  # the freed slot was reused
        assert engine.runner.num_rows == 0
    finally:
        engine.shutdown()


def test_cancel_of_a_queued_request_is_immediate() -> None:
    engine = make_tiny_engine(max_running=1, max_queue=4)
    try:
        busy = engine.submit(ask("busy"), SamplingParams(max_new_tokens=100_000, ignore_eos=True))
        queued = engine.submit(ask("queued"), SamplingParams(max_new_tokens=5))
        queued.cancel()
        assert queued.result(timeout=1).finish_reason is FinishReason.CANCELLED
        assert queued.queue_position is None
        busy.cancel()
    finally:
        engine.shutdown()


def test_overload_raises_at_once_with_counts() -> None:
    engine = make_tiny_engine(max_running=2, max_queue=2)
    try:
        params = SamplingParams(max_new_tokens=100_000, ignore_eos=True)
        handles = [engine.submit(ask(str(i)), params) for i in range(4)]
        wait_until(lambda: engine.stats().running == 2)
        started = time.monotonic()
        with pytest.raises(EngineOverloaded) as excinfo:
            engine.submit(ask("one too many"), params)
        assert time.monotonic() - started < 0.5
        assert excinfo.value.running + excinfo.value.queued == 4
        positions = sorted(p for h in handles if (p := h.queue_position) is not None)
        assert positions == [1, 2]
        for h in handles:
            h.cancel()
    finally:
        engine.shutdown()


def test_prompt_longer_than_the_context_window_is_refused_with_counts() -> None:
    engine = make_tiny_engine(context_window=64)
    try:
        with pytest.raises(PromptTooLong) as excinfo:
            engine.submit(ask("x" * 200))
        assert excinfo.value.context_window == 64 and excinfo.value.prompt_tokens > 200
        assert engine.count_tokens(ask("x" * 200)) == excinfo.value.prompt_tokens
        # a prompt that fits stops at the window instead of overrunning it
        result = engine.generate(ask("x" * 30), SamplingParams(max_new_tokens=500, ignore_eos=True))
        assert result.finish_reason is FinishReason.LENGTH
        assert result.prompt_tokens + result.output_tokens == 64
    finally:
        engine.shutdown()


def test_a_running_request_times_out() -> None:
    engine = make_tiny_engine()
    try:
        params = SamplingParams(max_new_tokens=1_000_000, ignore_eos=True, timeout_s=0.3)
        result = engine.generate(ask("slow"), params)
        assert result.finish_reason is FinishReason.TIMEOUT
        assert result.output_tokens > 0 and result.total_s < 2
    finally:
        engine.shutdown()


def test_a_queued_request_times_out_without_running() -> None:
    engine = make_tiny_engine(max_running=1)
    try:
        busy = engine.submit(ask("busy"), SamplingParams(max_new_tokens=1_000_000, ignore_eos=True))
        queued = engine.submit(ask("late"), SamplingParams(max_new_tokens=5, timeout_s=0.2))
        result = queued.result(timeout=5)
        assert result.finish_reason is FinishReason.TIMEOUT and result.output_tokens == 0
        busy.cancel()
    finally:
        engine.shutdown()


def test_bad_sampling_parameters_are_refused_before_queueing(tiny_engine) -> None:
    for params in (
        SamplingParams(max_new_tokens=0),
        SamplingParams(top_p=0.0),
        SamplingParams(temperature=-1),
    ):
        with pytest.raises(ValueError):
            tiny_engine.submit(ask("x"), params)


def test_a_failure_in_one_request_fails_only_that_request(tiny_engine) -> None:
    good = [
        tiny_engine.submit(ask(f"good {i}"), SamplingParams(max_new_tokens=30, ignore_eos=True))
        for i in range(3)
    ]
    # A temperature this small overflows softmax to inf/nan: sampling fails for this row only.
    bad = tiny_engine.submit(ask("bad"), SamplingParams(max_new_tokens=30, temperature=1e-45))
    assert bad.result(timeout=10).finish_reason is FinishReason.ERROR
    assert bad.result().error == "sampling failed"
    assert [h.result(timeout=10).output_tokens for h in good] == [30, 30, 30]
    assert tiny_engine.is_alive


class _OutOfMemoryOnce(ModelRunner):
    """Raises torch.OutOfMemoryError on the first decode step with more than two rows."""

    fired = False

    def _decode_logits(self):
        if not _OutOfMemoryOnce.fired and self.num_rows > 2:
            _OutOfMemoryOnce.fired = True
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return super()._decode_logits()


def test_out_of_memory_shrinks_the_batch_instead_of_failing_requests() -> None:
    engine = make_tiny_engine(max_running=6, runner_class=_OutOfMemoryOnce)
    reference = make_tiny_engine(max_running=6)
    try:
        params = SamplingParams(max_new_tokens=25, ignore_eos=True)
        prompts = [ask(f"question {i}") for i in range(6)]
        handles = [engine.submit(p, params) for p in prompts]
        results = [h.result(timeout=20) for h in handles]
        assert _OutOfMemoryOnce.fired
        assert all(
            r.finish_reason is FinishReason.LENGTH and r.output_tokens == 25 for r in results
        )
        # preempted requests resumed exactly where they were
        expected = [reference.generate(p, params).token_ids for p in prompts]
        assert [r.token_ids for r in results] == expected
        assert engine.stats().max_running == 6 and engine._batch_limit < 6
        assert engine.metrics.snapshot().preemptions >= 1  # vllm:num_preemptions_total
    finally:
        engine.shutdown()
        reference.shutdown()


class _DeviceFails(ModelRunner):
    def _decode_logits(self):
        raise torch.AcceleratorError("CUDA error: an illegal memory access was encountered")


def test_a_device_failure_kills_the_engine_and_fails_everything() -> None:
    engine = make_tiny_engine(runner_class=_DeviceFails)
    try:
        handles = [engine.submit(ask(str(i)), SamplingParams(max_new_tokens=5)) for i in range(3)]
        results = [h.result(timeout=10) for h in handles]
        assert all(
            r.finish_reason is FinishReason.ERROR and r.error == "engine dead" for r in results
        )
        assert not engine.is_alive
        with pytest.raises(EngineDead):
            engine.submit(ask("after"))
    finally:
        engine.shutdown()


def test_shutdown_cancels_in_flight_work_and_returns() -> None:
    engine = make_tiny_engine(max_running=1)
    running = engine.submit(ask("a"), SamplingParams(max_new_tokens=1_000_000, ignore_eos=True))
    queued = engine.submit(ask("b"))
    next(iter(running))
    started = time.monotonic()
    engine.shutdown()
    assert time.monotonic() - started < 5
    assert running.result(timeout=1).finish_reason is FinishReason.CANCELLED
    assert queued.result(timeout=1).finish_reason is FinishReason.CANCELLED
    with pytest.raises(EngineShutdown):
        engine.submit(ask("c"))


def test_stats_count_tokens_and_requests() -> None:
    engine = make_tiny_engine()
    try:
        for _ in range(3):
            engine.generate(ask("q"), SamplingParams(max_new_tokens=10, ignore_eos=True))
        stats = engine.stats()
        assert stats.requests_finished == 3 and stats.tokens_generated == 30
        assert stats.running == 0 and stats.queued == 0
        assert stats.busy_s > 0 and stats.decode_tok_s > 0
    finally:
        engine.shutdown()


def test_submit_is_safe_from_many_threads_at_once(tiny_engine) -> None:
    results = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        r = tiny_engine.generate(ask(f"t{i}"), SamplingParams(max_new_tokens=5, ignore_eos=True))
        with lock:
            results.append(r.request_id)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(set(results)) == 12


def test_prefill_groups_prompts_of_similar_length() -> None:
    from engine.model.runner import length_buckets

    lengths = [40, 300, 42, 41, 310, 45]
    buckets = length_buckets(lengths)
    assert sorted(i for b in buckets for i in b) == list(range(6))
    for bucket in buckets:
        widths = [lengths[i] for i in bucket]
        assert max(widths) * len(widths) <= 1.25 * sum(widths)
    assert len(buckets) == 2
