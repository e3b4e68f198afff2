"""`deskhand bench engine --workload support` and `--long-prompt N`: traffic shaped like support.

support: sixteen requests as the bot sends them (one long system prompt, two retrieved
passages, the question; the second half are second turns of the first half's threads,
carrying the first answer), arriving a little apart, with the prefix cache on and off.
long-prompt: running answers stream while one N-token prompt (a pasted log) arrives;
the longest gap between two streamed tokens, with chunked prefill on and off.
"""

from __future__ import annotations

import itertools
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from engine.engine import Engine
from engine.types import ChatMessage, SamplingParams

EngineFactory = Callable[..., Engine]  # (rows, context, **runner/config options) -> Engine

SYSTEM = (
    "You are Deskhand, the support assistant of Spokes & Sprockets, a bike shop with three "
    "stores and an online shop. Answer only from the passages below; if they do not contain "
    "the answer, say so and offer to bring in a human. Be brief, friendly and concrete: give "
    "steps as a short list, quote prices and time limits exactly, never invent order numbers, "
    "and never ask for card details or passwords. Write in the customer's language."
)
PASSAGES = [
    "Returns: bikes and parts can be returned within 30 days of delivery with the receipt. "
    "Bikes must be unridden outdoors; parts in their original packaging. Refunds go to the "
    "original payment method within 5 working days of the return arriving at our warehouse.",
    "Shipping: we ship to the UK, Ireland and the EU. Parts arrive in 2-4 working days, bikes "
    "in 5-7. Bikes ship 90% assembled; fitting the pedals and handlebar takes ten minutes "
    "with the included tools. Damaged deliveries must be reported within 48 hours, with photos.",
    "E-bike batteries: charge between 10% and 90% for the longest life, at room temperature. "
    "Overnight charging is safe with the original charger. Error E21 means the battery is "
    "below 0 C or above 45 C: let it reach room temperature and restart the display.",
    "Servicing: a basic service (gears, brakes, chain, tyre pressure) costs 49 pounds and takes "
    "one working day. Book online or in store. Bikes bought from us get a free first service "
    "within 3 months. Parts replaced during a service are charged separately.",
]
QUESTIONS = [
    "Can I return a bike I bought last week?",
    "How long does delivery to Ireland take?",
    "My e-bike shows E21, what do I do?",
    "How much is a basic service?",
    "The box arrived crushed and the wheel is bent. What now?",
    "Is it safe to charge my battery overnight?",
    "Do I get a free service with a new bike?",
    "When will I get my refund?",
]
FOLLOW_UPS = ["Thanks. And what if I lost the receipt?", "OK, and how do I book that?"]


def support_turn(i: int, answer: str | None = None) -> list[ChatMessage]:
    passages = "\n\n".join(PASSAGES[(i + k) % len(PASSAGES)] for k in range(2))
    turns: list[ChatMessage] = [
        {"role": "system", "content": f"{SYSTEM}\n\nPassages:\n{passages}"},
        {"role": "user", "content": QUESTIONS[i % len(QUESTIONS)]},
    ]
    if answer is not None:
        turns.append({"role": "assistant", "content": answer})
        turns.append({"role": "user", "content": FOLLOW_UPS[i % len(FOLLOW_UPS)]})
    return turns


def _support_traffic(
    engine: Any, requests: int, params: SamplingParams, gap_s: float
) -> tuple[list[Any], float]:
    """The first turns, then the second turns carrying the first answers; all results, wall."""
    first = max(1, requests // 2)
    started = time.perf_counter()
    wave1 = _run_staggered(engine, [support_turn(i) for i in range(first)], params, gap_s)
    threads = [support_turn(i, wave1[i].text) for i in range(requests - first)]
    wave2 = _run_staggered(engine, threads, params, gap_s)
    return wave1 + wave2, time.perf_counter() - started


def _figures(results: list[Any], wall: float, rate_key: str, suffix: str) -> dict[str, Any]:
    ttfts = sorted(r.ttft_s for r in results if r.ttft_s is not None)
    return {
        rate_key: round(sum(r.output_tokens for r in results) / wall, 1),
        f"ttft_p50_s{suffix}": round(statistics.median(ttfts), 3),
        f"ttft_p95_s{suffix}": round(_percentile(ttfts, 0.95), 3),
    }


def _run_staggered(
    engine: Engine, conversations: Sequence[Any], params: SamplingParams, gap_s: float
) -> list[Any]:
    handles = []
    for conversation in conversations:
        handles.append(engine.submit(conversation, params))
        time.sleep(gap_s)
    return [h.result() for h in handles]


def support_workload(
    make_engine: EngineFactory,
    tokenizer: Any,
    requests: int,
    new_tokens: int,
    gap_s: float = 0.05,
    peer: Any = None,
) -> dict[str, Any]:
    """Both halves of the support traffic with the prefix cache on and off; with `peer` (a
    bench.peers.LlamaServerPeer) the same traffic through llama-server, its prompt cache on."""
    params = SamplingParams(max_new_tokens=new_tokens, temperature=0.0, ignore_eos=True)
    report: dict[str, Any] = {"workload": "support", "requests": requests, "new_tokens": new_tokens}
    outputs: dict[str, list[list[int]]] = {}
    for label, cache_mb in (("off", 0), ("on", 256)):
        engine = make_engine(requests, 2048, prefix_cache_mb=cache_mb)
        engine.generate(support_turn(99)[1:], SamplingParams(max_new_tokens=2))  # warm-up
        results, wall = _support_traffic(engine, requests, params, gap_s)
        stats = engine.stats()
        engine.shutdown()
        outputs[label] = [r.token_ids for r in results]
        report |= _figures(results, wall, f"engine_tok_s_cache_{label}", f"_cache_{label}")
        report[f"prompt_tokens_cache_{label}"] = stats.prompt_tokens
        if label == "on":
            report["prefix_hit_rate"] = stats.extra.get("prefix_hit_rate", 0.0)
    if peer is not None:
        with peer.serving(requests, [support_turn(99)[1:]], context=2048) as served:
            results, wall = _support_traffic(served, requests, params, gap_s)
        report |= _figures(results, wall, "llama_server_tok_s", "_llama_server")
        report["vs_llama_server_support"] = round(
            report["engine_tok_s_cache_on"] / report["llama_server_tok_s"], 2
        )
    same = sum(a == b for a, b in zip(outputs["off"], outputs["on"], strict=True))
    report["identical_cache_on_off"] = f"{same}/{requests}"
    report["ttft_p95_ratio_off_on"] = round(
        report["ttft_p95_s_cache_off"] / max(report["ttft_p95_s_cache_on"], 1e-9), 2
    )
    return report


def long_prompt(
    make_engine: EngineFactory, chunk_tokens: int, prompt_tokens: int, running: int = 4
) -> dict[str, Any]:
    """Decode stalls of `running` streaming answers while one long prompt is prefilled."""
    line = "2026-12-03 10:15:02 worker-3 WARN retrying upload batch=17 after timeout (attempt 2)\n"
    engine = make_engine(running + 1, prompt_tokens + 256)
    text = line
    while engine.count_tokens([{"role": "user", "content": text}]) < prompt_tokens:
        text += line
    engine.shutdown()
    log: list[ChatMessage] = [
        {"role": "user", "content": "Why does this log keep retrying?\n" + text}
    ]
    report: dict[str, Any] = {"long_prompt_tokens": prompt_tokens, "running": running}
    for label, chunk in (("unchunked", 0), ("chunked", chunk_tokens)):
        engine = make_engine(running + 1, prompt_tokens + 256, prefill_chunk_tokens=chunk)
        engine.generate(log[:1], SamplingParams(max_new_tokens=2))  # warm-up
        gaps, ttft = _stalls_during(engine, log, running)
        engine.shutdown()
        report[f"decode_stall_max_ms_{label}"] = round(max(gaps) * 1000, 1)
        report[f"decode_step_p50_ms_{label}"] = round(statistics.median(gaps) * 1000, 1)
        report[f"long_prompt_ttft_s_{label}"] = round(ttft, 3)
    report["prefill_chunk_tokens"] = chunk_tokens
    report["stall_ratio_unchunked_chunked"] = round(
        report["decode_stall_max_ms_unchunked"] / max(report["decode_stall_max_ms_chunked"], 1e-9),
        2,
    )
    return report


def _stalls_during(
    engine: Engine, log: list[ChatMessage], running: int
) -> tuple[list[float], float]:
    """Gaps between consecutive streamed deltas of the running answers while `log` prefills."""
    params = SamplingParams(max_new_tokens=100_000, ignore_eos=True)
    handles = [
        engine.submit([{"role": "user", "content": f"Tell me a story {i}."}], params)
        for i in range(running)
    ]
    stamps: list[list[float]] = [[] for _ in handles]
    window: dict[str, float] = {}

    def watch(i: int) -> None:
        for _ in handles[i]:
            stamps[i].append(time.perf_counter())

    watchers = [threading.Thread(target=watch, args=(i,)) for i in range(running)]
    for w in watchers:
        w.start()
    time.sleep(1.0)  # all answers streaming
    window["start"] = time.perf_counter()
    result = engine.submit(log, SamplingParams(max_new_tokens=1)).result()
    window["end"] = time.perf_counter()
    time.sleep(0.3)
    for h in handles:
        h.cancel()
    for w in watchers:
        w.join()
    gaps = [
        b - a
        for s in stamps
        for a, b in itertools.pairwise(s)
        if b >= window["start"] and a <= window["end"]
    ]
    return gaps or [window["end"] - window["start"]], result.ttft_s or 0.0


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]
