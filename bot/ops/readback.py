"""Reading a bot's /metrics back, as an operator's Prometheus would: for `deskhand bench slack`.

Owns the scrape (GET, parsed with prometheus_client's own parser) and the handful of totals the
benchmark sets beside what the workspace saw: answers counted against answers posted, the time
to first token histogram's count against the answers, busy replies, acks.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterable
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

Sample = tuple[str, dict[str, str], float]
# Outcomes of the answer path that post no answer message (a notice, or nothing).
NO_ANSWER = frozenset({"busy", "empty", "not in thread", "handed over"})


def scrape(url: str, timeout: float = 10.0) -> list[Sample]:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        text = response.read().decode()
    return [
        (sample.name, dict(sample.labels), float(sample.value))
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def total(samples: Iterable[Sample], name: str, **labels: str) -> float:
    return sum(
        value
        for sample_name, have, value in samples
        if sample_name == name and all(have.get(k) == v for k, v in labels.items())
    )


def bench_view(samples: list[Sample]) -> dict[str, Any]:
    """The metrics endpoint's view of a burst, summed over every bot scraped."""
    answers = sum(
        value
        for name, labels, value in samples
        if name == "deskhand:answers_total" and labels.get("outcome") not in NO_ANSWER
    )
    ttft = total(samples, "vllm:time_to_first_token_seconds_count") + total(
        samples, "deskhand:time_to_first_token_seconds_count"
    )
    return {
        "answers_counted": int(answers),
        "ttft_count": int(ttft),
        "busy_replies": int(total(samples, "deskhand:busy_replies_total")),
        "events_acked": int(total(samples, "deskhand:events_acked_total", type="events_api")),
        "ack_latency_count": int(
            total(samples, "deskhand:ack_latency_seconds_count", type="events_api")
        ),
        "generation_tokens": int(total(samples, "vllm:generation_tokens_total")),
        "slack_rate_limited": int(total(samples, "deskhand:slack_api_rate_limited_total")),
        "slack_api_errors": int(total(samples, "deskhand:slack_api_errors_total")),
    }
