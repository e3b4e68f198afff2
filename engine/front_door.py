"""The request front door and the counters, the same for every engine.

What `submit` checks before anything is queued or sent (the sampling parameters, the default
timeout, a prompt too long for the window) and what `stats()` counts (requests finished,
tokens in and out, busy and up time), written once for the in-process engine and the remote
one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

from engine.errors import PromptTooLong
from engine.types import EngineStats, SamplingParams


def admitted_params(
    params: SamplingParams | None, default_timeout_s: float | None
) -> SamplingParams:
    """`params` checked (ValueError when invalid), with the engine's default timeout when the
    request sets none."""
    params = params or SamplingParams()
    params.validate()
    if params.timeout_s is None and default_timeout_s:
        params = replace(params, timeout_s=default_timeout_s)
    return params


def check_fits(prompt_tokens: int, context_window: int) -> None:
    """PromptTooLong unless the prompt leaves room for at least one new token."""
    if prompt_tokens >= context_window:
        raise PromptTooLong(prompt_tokens, context_window)


@dataclass(slots=True)
class Counters:
    """What an engine has done since it started. Each engine writes these from one place
    (its engine thread, or under its lock); `snapshot` is read from any thread."""

    started_at: float = field(default_factory=time.monotonic)
    finished: int = 0
    tokens_generated: int = 0
    prompt_tokens: int = 0

    def snapshot(
        self,
        *,
        running: int,
        queued: int,
        max_running: int,
        max_queue: int,
        busy_s: float,
        extra: dict[str, float] | None = None,
        unhealthy_reason: str | None = None,
    ) -> EngineStats:
        generated = self.tokens_generated
        return EngineStats(
            running=running,
            queued=queued,
            max_running=max_running,
            max_queue=max_queue,
            requests_finished=self.finished,
            tokens_generated=generated,
            prompt_tokens=self.prompt_tokens,
            busy_s=busy_s,
            uptime_s=time.monotonic() - self.started_at,
            decode_tok_s=generated / busy_s if busy_s else 0.0,
            extra=extra or {},
            unhealthy_reason=unhealthy_reason,
        )
