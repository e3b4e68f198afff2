"""The OpenAI chat-completions wire format: our request in, the server's stream chunks out.

Kept apart from the HTTP plumbing so the mapping (sampling parameters to fields, finish
reasons and usage back) reads in one place. Servers differ in details: vLLM and SGLang
accept `ignore_eos` and report `max_model_len`; TGI says `eos_token`; llama-cpp-python
ignores `stream_options` and reports no usage while streaming.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from engine.types import ChatMessage, FinishReason, SamplingParams

STOP_REASONS = frozenset({"stop", "eos_token", "stop_sequence", "end_turn", "eos"})
LENGTH_REASONS = frozenset({"length", "max_tokens", "model_length"})


def request_body(
    model: str,
    messages: Sequence[ChatMessage],
    params: SamplingParams,
    *,
    stop_token_ids: Iterable[int],
    include_usage: bool,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
        "stream": True,
        "max_tokens": params.max_new_tokens,
        "temperature": params.temperature,
        "top_p": params.top_p,
    }
    if include_usage:
        body["stream_options"] = {"include_usage": True}
    if params.seed is not None:
        body["seed"] = params.seed
    if params.ignore_eos:  # benchmarks: exactly max_tokens (vLLM/SGLang flag, logit_bias elsewhere)
        body["ignore_eos"] = True
        body["logit_bias"] = {str(t): -100 for t in sorted(stop_token_ids)}
    return body


@dataclass(frozen=True, slots=True)
class Chunk:
    """What one `data:` event of the stream says."""

    text: str = ""
    finish: str | None = None  # the server's finish_reason, as sent
    prompt_tokens: int | None = None
    output_tokens: int | None = None
    error: str | None = None


def parse_chunk(data: dict[str, Any]) -> Chunk:
    if "error" in data:  # vLLM and llama.cpp send an error object mid-stream
        error = data["error"]
        message = error.get("message") if isinstance(error, dict) else error
        return Chunk(error=str(message)[:300])
    text, finish = "", None
    for choice in data.get("choices") or []:
        delta = choice.get("delta") or {}
        text += delta.get("content") or ""
        finish = choice.get("finish_reason") or finish
    usage = data.get("usage") or {}
    return Chunk(
        text=text,
        finish=finish,
        prompt_tokens=usage.get("prompt_tokens"),
        output_tokens=usage.get("completion_tokens"),
    )


def finish_reason(server_reason: str | None) -> FinishReason:
    """The server's finish_reason as ours; a stream that ended without one was cut off."""
    if server_reason is None:
        return FinishReason.ERROR
    if server_reason in LENGTH_REASONS:
        return FinishReason.LENGTH
    if server_reason == "abort":  # vLLM: the server aborted the request
        return FinishReason.ERROR
    return FinishReason.STOP  # stop, eos_token, stop_sequence, content_filter, tool_calls...


def error_detail(status: int, body: bytes) -> str:
    """A short, log-safe description of an HTTP error response."""
    try:
        data = json.loads(body)
    except ValueError:
        return f"HTTP {status}: {body[:200].decode('utf-8', 'replace')}"
    error = data.get("error", data.get("detail", data)) if isinstance(data, dict) else data
    if isinstance(error, dict):
        error = error.get("message", error)
    return f"HTTP {status}: {str(error)[:200]}"
