"""Prefix caching and chunked prefill: same tokens as `generate`, less recomputation, no stall."""

from __future__ import annotations

import time

import pytest
import torch

from engine import SamplingParams
from engine.model.kv_cache import SlotKVCache
from engine.model.runner import ModelRunner
from engine.testing import make_tiny_engine
from tests.engine.conftest import generate_alone, submit_staggered

SYSTEM = "You are a support assistant for a bike shop. Be brief and kind. " * 3


def _support(count: int) -> list[list[dict[str, str]]]:
    """Same system prompt, two passages, and some two-turn threads repeating earlier turns."""
    passages = ["Returns: 30 days with a receipt. " * 2, "Shipping: Ireland in 3-5 days. " * 2]
    conversations = []
    for i in range(count):
        context = f"{SYSTEM}\nPassage: {passages[i % 2]}"
        turns = [{"role": "system", "content": context}]
        turns.append({"role": "user", "content": f"Question {i % 4}: can I return it?"})
        if i >= count // 2:  # the second turn of an earlier thread
            turns.append({"role": "assistant", "content": "Yes, within 30 days."})
            turns.append({"role": "user", "content": f"And the shipping, ticket {i}?"})
        conversations.append(turns)
    return conversations


def test_prefix_cache_hits_and_matches_generate_token_for_token() -> None:
    engine = make_tiny_engine(max_running=16, prefix_cache_mb=64, prefix_block_tokens=16)
    try:
        conversations = _support(16)
        params = SamplingParams(max_new_tokens=24, ignore_eos=True)
        results = submit_staggered(engine, conversations, params, gap_s=0.02)
        assert [r.token_ids for r in results] == generate_alone(engine, conversations, 24)
        first_rate = engine.stats().extra["prefix_hit_rate"]
        assert first_rate > 0.3  # later arrivals reuse the system prompt and passages
        again = [engine.generate(c, params) for c in conversations[:4]]
        assert [r.token_ids for r in again] == [r.token_ids for r in results[:4]]
        assert engine.stats().extra["prefix_hit_rate"] > first_rate
    finally:
        engine.shutdown()


def test_prefix_cache_on_and_off_are_identical_in_float32() -> None:
    params = SamplingParams(max_new_tokens=20, ignore_eos=True)
    conversations = _support(8)
    outputs = []
    for cache_mb in (0, 64):
        engine = make_tiny_engine(
            max_running=8, dtype="float32", prefix_cache_mb=cache_mb, prefix_block_tokens=16
        )
        try:
            outputs.append(
                [engine.generate(c, params).token_ids for c in conversations]
                + [
                    h.result(timeout=60).token_ids
                    for h in [engine.submit(c, params) for c in conversations]
                ]
            )
        finally:
            engine.shutdown()
    assert outputs[0] == outputs[1]


def test_prefix_cache_evicts_beyond_its_budget() -> None:
    engine = make_tiny_engine(prefix_cache_mb=1, prefix_block_tokens=16)
    try:
        limit = engine.runner.prefix.max_blocks
        for i in range(6):
            engine.generate([{"role": "user", "content": f"{i} " + "distinct words " * 40}])
        assert 0 < len(engine.runner.prefix.blocks) <= limit
    finally:
        engine.shutdown()


@pytest.mark.parametrize("prefix_cache_mb", [0, 64])
def test_chunked_prefill_matches_generate_for_long_and_short_prompts(prefix_cache_mb) -> None:
    engine = make_tiny_engine(
        max_running=8, prefill_chunk_tokens=48, prefix_cache_mb=prefix_cache_mb
    )
    try:
        conversations = [
            [{"role": "user", "content": f"{i}: " + "a long pasted log line\n" * (1 + 9 * (i % 3))}]
            for i in range(8)
        ]
        params = SamplingParams(max_new_tokens=16, ignore_eos=True)
        results = submit_staggered(engine, conversations, params, gap_s=0.01)
        assert [r.token_ids for r in results] == generate_alone(engine, conversations, 16)
        assert engine.runner.num_rows == 0 and engine.runner.chunked is None
    finally:
        engine.shutdown()


class _SlowChunks(ModelRunner):
    """A CPU ten times slower at prefill: each chunk token costs 2 ms more; sizes recorded."""

    sizes: list[int]

    def prefill_chunk(self, request, chunk_tokens):  # type: ignore[no-untyped-def]
        self.sizes = [*getattr(self, "sizes", []), chunk_tokens]
        time.sleep(0.002 * chunk_tokens)
        return super().prefill_chunk(request, chunk_tokens)


def test_chunks_are_sized_to_the_time_budget_and_still_match_generate() -> None:
    engine = make_tiny_engine(
        max_running=4,
        prefill_chunk_tokens=256,
        prefill_chunk_budget_s=0.1,
        context_window=2048,
        runner_class=_SlowChunks,
    )
    try:
        conversation = [{"role": "user", "content": "a long pasted log line\n" * 60}]
        result = engine.submit(conversation, SamplingParams(max_new_tokens=8, ignore_eos=True))
        assert result.result(timeout=120).token_ids == generate_alone(engine, [conversation], 8)[0]
        sizes = engine.runner.sizes
        assert sizes[0] == 256  # the configured size, until one chunk has been timed
        assert all(32 <= size <= 50 for size in sizes[1:-1]), sizes  # ≈ 0.1 s / 2 ms
        assert len(sizes) > 10
    finally:
        engine.shutdown()


def test_running_answers_keep_streaming_while_a_long_prompt_is_prefilled() -> None:
    engine = make_tiny_engine(max_running=4, prefill_chunk_tokens=32, context_window=2048)
    try:
        running = engine.submit(
            [{"role": "user", "content": "hi"}],
            SamplingParams(max_new_tokens=100_000, ignore_eos=True),
        )
        next(iter(running))
        before = engine.stats().tokens_generated
        long = engine.submit(
            [{"role": "user", "content": "log line\n" * 100}],  # ~900 tokens: ~28 chunks
            SamplingParams(max_new_tokens=1, ignore_eos=True),
        )
        long.result(timeout=60)
        during = engine.stats().tokens_generated - before - 1
        assert during >= 20, f"only {during} tokens streamed while the long prompt prefilled"
        running.cancel()
    finally:
        engine.shutdown()


def test_cancel_during_a_chunked_prefill_frees_it() -> None:
    engine = make_tiny_engine(max_running=2, prefill_chunk_tokens=16, context_window=4096)
    try:
        long = engine.submit(
            [{"role": "user", "content": "x" * 3000}], SamplingParams(max_new_tokens=4)
        )
        long.cancel()
        assert long.result(timeout=30).output_tokens == 0
        after = engine.generate(
            [{"role": "user", "content": "y" * 100}],
            SamplingParams(max_new_tokens=3, ignore_eos=True),
        )
        assert after.output_tokens == 3
        assert engine.runner.chunked is None and engine.runner.num_rows == 0
    finally:
        engine.shutdown()


def test_cache_growth_allocated_ahead_is_adopted_and_keeps_every_value() -> None:
    cache = SlotKVCache(
        2, 1, 4, max_rows=4, max_columns=64, dtype=torch.float32, device=torch.device("cpu"),
        initial_rows=2, initial_columns=8,
    )  # fmt: skip
    for buf in cache.keys + cache.values:
        buf.normal_()
    before = [buf.clone() for buf in cache.keys + cache.values]
    cache.grow_ahead(3, 20, calls_left=2)
    assert len(cache._ahead) == 2  # half of the 4 buffers now, the rest on the next call
    cache.grow_ahead(3, 20, calls_left=1)
    ahead = {id(buf) for buf in cache._ahead}
    cache.reserve(3, 20)
    assert (cache.rows, cache.columns) == (4, 32)
    assert {id(buf) for buf in cache.keys + cache.values} == ahead and not cache._ahead
    for old, new in zip(before, cache.keys + cache.values, strict=True):
        assert torch.equal(new[:2, :, :8], old)
        assert not new[2:].any() and not new[:, :, 8:].any()  # zeros, never stale memory
    cache.grow_ahead(4, 64, calls_left=3)  # a shape that the next reserve does not take
    cache.reserve(4, 40)
    assert (cache.rows, cache.columns) == (4, 64) and not cache._ahead
    cache.grow_ahead(4, 33, calls_left=1)  # already fits: nothing to allocate
    assert not cache._ahead


class _CountsGrowth(ModelRunner):
    """Records how many main-cache buffers each prefill_chunk call allocated."""

    allocated: list[tuple[int, bool]]

    def prefill_chunk(self, request, chunk_tokens):  # type: ignore[no-untyped-def]
        made = []
        real = self.cache._empty
        self.cache._empty = lambda *shape: made.append(shape) or real(*shape)  # type: ignore[method-assign]
        try:
            first = super().prefill_chunk(request, chunk_tokens)
        finally:
            del self.cache._empty
        self.allocated = [*getattr(self, "allocated", []), (len(made), bool(first))]
        return first


def test_a_long_prompt_grows_the_cache_over_its_chunks_not_in_its_last() -> None:
    engine = make_tiny_engine(
        max_running=4, prefill_chunk_tokens=64, context_window=2048, runner_class=_CountsGrowth
    )
    try:
        params = SamplingParams(max_new_tokens=6, ignore_eos=True)
        short = engine.submit([{"role": "user", "content": "hi"}], params)
        conversation = [{"role": "user", "content": "log line\n" * 100}]  # ~900 tokens
        result = engine.submit(conversation, params).result(timeout=120)
        assert result.token_ids == generate_alone(engine, [conversation], 6)[0]
        short.result(timeout=60)
        allocated = engine.runner.allocated
        assert allocated[-1] == (0, True), allocated  # the last chunk only copies
        layers = engine.runner.cache.num_layers
        assert sum(n for n, _ in allocated) == 2 * layers
        assert max(n for n, _ in allocated) < 2 * layers  # spread over several chunks
    finally:
        engine.shutdown()


def test_a_cancelled_long_prompt_frees_the_cache_growth_made_for_it() -> None:
    engine = make_tiny_engine(max_running=2, prefill_chunk_tokens=32, context_window=4096)
    try:
        long = engine.submit(
            [{"role": "user", "content": "log line\n" * 300}], SamplingParams(max_new_tokens=4)
        )
        deadline = time.monotonic() + 30
        while not engine.runner.cache._ahead and time.monotonic() < deadline:
            time.sleep(0.005)
        assert engine.runner.cache._ahead, "no chunk allocated ahead"
        long.cancel()
        assert long.result(timeout=30).output_tokens == 0
        assert engine.runner.chunked is None and not engine.runner.cache._ahead
    finally:
        engine.shutdown()
