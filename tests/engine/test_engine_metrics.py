"""The engine's Prometheus view (engine.metrics + engine.prometheus): vLLM's names, shapes and
buckets for the in-process engine, deskhand: for a remote one, counts that match the work
done, read by a collector at scrape time."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from engine import EngineOverloaded, SamplingParams
from engine.metrics import TTFT_BUCKETS, LatencyHistogram
from engine.prometheus import EngineCollector
from engine.remote import RemoteConfig, RemoteEngine
from engine.remote.tokenizer import TextTokenizer
from engine.testing import make_tiny_engine
from tests.engine.fake_openai import FakeOpenAI

ASK = [{"role": "user", "content": "Say hello, twice over."}]


def exposition(engine) -> tuple[dict[str, float], dict[str, str]]:
    registry = CollectorRegistry()
    registry.register(EngineCollector(engine))
    text = generate_latest(registry).decode()
    samples: dict[str, float] = {}
    types: dict[str, str] = {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for s in family.samples:
            key = s.name + "".join(f"|{k}={v}" for k, v in sorted(s.labels.items()))
            samples[key] = s.value
    return samples, types


def test_histogram_buckets_are_inclusive_and_cumulative() -> None:
    h = LatencyHistogram((0.1, 1.0))
    for seconds in (0.05, 0.1, 0.5, 1.0, 3.0):
        h.observe(seconds)
    snap = h.snapshot()
    assert snap.cumulative() == [("0.1", 2), ("1.0", 4), ("+Inf", 5)]
    assert snap.count == 5 and snap.sum == pytest.approx(4.65)


def test_the_local_engine_reports_under_vllms_names() -> None:
    engine = make_tiny_engine(max_running=4, max_queue=8, prefix_cache_mb=4)
    try:
        params = SamplingParams(max_new_tokens=6, ignore_eos=True)
        done = [h.result() for h in [engine.submit(ASK, params) for _ in range(3)]]
        done.append(engine.generate(ASK, params))  # the same prompt again: prefix cache hits
        samples, types = exposition(engine)
    finally:
        engine.shutdown()
    label = "|model_name=" + engine.info.name
    assert types["vllm:time_to_first_token_seconds"] == "histogram"
    assert types["vllm:inter_token_latency_seconds"] == "histogram"
    assert types["vllm:prompt_tokens"] == types["vllm:prefix_cache_hits"] == "counter"
    assert types["vllm:kv_cache_usage_perc"] == types["vllm:num_requests_waiting"] == "gauge"
    assert samples["vllm:time_to_first_token_seconds_count" + label] == 4
    assert samples["vllm:e2e_request_latency_seconds_count" + label] == 4
    assert samples["vllm:request_queue_time_seconds_count" + label] == 4
    assert samples["vllm:inter_token_latency_seconds_count" + label] == 4 * (6 - 1)
    assert samples["vllm:generation_tokens_total" + label] == 4 * 6
    assert samples["vllm:prompt_tokens_total" + label] == sum(c.prompt_tokens for c in done)
    assert samples["vllm:time_to_first_token_seconds_sum" + label] == pytest.approx(
        sum(c.ttft_s or 0 for c in done)
    )
    buckets = [k for k in samples if k.startswith("vllm:time_to_first_token_seconds_bucket")]
    assert len(buckets) == len(TTFT_BUCKETS) + 1  # vLLM's 22 bounds and +Inf
    queries = samples["vllm:prefix_cache_queries_total" + label]
    hits = samples["vllm:prefix_cache_hits_total" + label]
    assert queries >= sum(c.prompt_tokens for c in done) and 0 < hits < queries
    assert samples["vllm:request_success_total|finished_reason=length" + label] == 4
    assert samples["vllm:request_success_total|finished_reason=abort" + label] == 0
    assert samples["vllm:num_preemptions_total" + label] == 0
    assert samples["vllm:kv_cache_usage_perc" + label] == 0  # nothing running now
    assert samples["vllm:num_requests_running" + label] == 0
    assert not any(k.startswith("deskhand:time_to") for k in samples)


def test_kv_cache_usage_is_the_share_of_rows_held() -> None:
    engine = make_tiny_engine(max_running=2, max_queue=2, context_window=64)
    try:
        handle = engine.submit(ASK, SamplingParams(max_new_tokens=40, ignore_eos=True))
        seen = []
        for _ in handle:
            seen.append(engine.stats().extra["kv_cache_usage"])
        handle.result()
    finally:
        engine.shutdown()
    assert max(seen) > 0 and max(seen) <= (handle.prompt_tokens + 40) / (2 * 64)


def test_a_remote_engine_reports_the_same_shapes_under_deskhand(
    fake: FakeOpenAI, tokenizer: TextTokenizer
) -> None:
    engine = RemoteEngine(
        RemoteConfig(url=fake.url, model="fake-model", timeout_s=5.0),
        tokenizer,
        context_window=2048,
    )
    try:
        engine.generate(ASK)
        engine.generate(ASK)
        fake.mode = "429"
        with pytest.raises(EngineOverloaded):
            engine.submit(ASK)  # refused: no request ran, nothing observed
        samples, types = exposition(engine)
    finally:
        engine.shutdown()
    label = "|model_name=fake-model"
    assert not any(k.startswith("vllm:") for k in samples)
    assert types["deskhand:time_to_first_token_seconds"] == "histogram"
    assert samples["deskhand:time_to_first_token_seconds_count" + label] == 2
    assert samples["deskhand:e2e_request_latency_seconds_count" + label] == 2
    chunks = len(FakeOpenAI().words)
    assert samples["deskhand:inter_token_latency_seconds_count" + label] == 2 * (chunks - 1)
    assert samples["deskhand:num_requests_running" + label] == 0
    assert samples["deskhand:request_success_total|finished_reason=stop" + label] == 2
    assert "deskhand:kv_cache_usage_perc" + label not in samples  # not visible from here
    assert samples["deskhand:engine_healthy" + label] == 1
