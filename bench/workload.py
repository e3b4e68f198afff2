"""The bench's workload, shared by the local and the remote engine benchmarks: support
questions under one system prompt, and `run_engine`, which submits them all at once and
measures throughput and time to first token."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Sequence
from typing import Any

from engine import ChatMessage, GenerationEngine, SamplingParams

SYSTEM = (
    "You are Deskhand, a support assistant for a bike shop. "
    "Answer the customer's question helpfully."
)
QUESTIONS = [
    "How do I reset my password?",
    "What are your opening hours on Saturdays?",
    "My order arrived damaged. The box was crushed and the front wheel is bent. "
    "What should I do next?",
    "Can I return a bike I bought last week?",
    "Explain the difference between a gravel bike and a road bike "
    "for someone who rides mostly on weekends.",
    "Do you ship to Ireland, and how long does delivery usually take?",
    "Write a short, friendly message thanking a customer for their feedback "
    "about our repair service.",
    "What does error code E21 on an electric bike display usually mean?",
    "I was charged twice for the same order, once on Monday and again on Tuesday. "
    "The amounts are identical. Can you explain how refunds for duplicate charges work "
    "and how long they take to appear?",
    "List three tips for keeping a bicycle chain in good condition through a wet winter.",
    "Is it safe to leave an e-bike battery on the charger overnight?",
    "Summarise in two sentences why regular servicing extends the life of a bicycle.",
    "How should I store my bike in a small flat?",
    "My child is seven years old and about 125 cm tall. Which wheel size should I look at, "
    "and what else should I consider when choosing a first proper bike for them?",
    "What is a reasonable tyre pressure for commuting?",
    "Give me a checklist for a safe night ride in the city: "
    "lights, clothing, route and anything else.",
]


def build_prompts(count: int) -> list[list[ChatMessage]]:
    conversations: list[list[ChatMessage]] = []
    for i in range(count):
        question = QUESTIONS[i % len(QUESTIONS)]
        if i >= len(QUESTIONS):
            question = f"(ticket {i}) {question}"
        conversations.append(
            [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}]
        )
    return conversations


def warm_up_prompts(count: int) -> list[list[ChatMessage]]:
    """Other questions under the same system prompt (what a service saw before)."""
    return [
        [c[0], {"role": "user", "content": f"(warm-up) {c[1]['content']}"}]
        for c in build_prompts(count)
    ]


def run_engine(
    engine: GenerationEngine, conversations: Sequence[Any], params: SamplingParams
) -> dict[str, Any]:
    """Submit every conversation at once from its own thread; wait for all."""
    handles: list[Any] = [None] * len(conversations)
    barrier = threading.Barrier(len(conversations) + 1)

    def submit(i: int) -> None:
        barrier.wait()
        handles[i] = engine.submit(conversations[i], params)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(len(conversations))]
    for t in threads:
        t.start()
    started = time.perf_counter()
    barrier.wait()
    for t in threads:
        t.join()
    results = [h.result() for h in handles]
    wall = time.perf_counter() - started
    tokens = sum(r.output_tokens for r in results)
    ttfts = sorted(r.ttft_s for r in results if r.ttft_s is not None)
    return {
        "tok_s": tokens / wall,
        "wall_s": wall,
        "tokens": tokens,
        "outputs": [r.token_ids for r in results],
        "texts": [r.text for r in results],
        "ttft_p50_s": statistics.median(ttfts),
        "ttft_p95_s": _percentile(ttfts, 0.95),
    }


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]
