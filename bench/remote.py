"""`deskhand bench engine --peer openai [--engine-url URL]`: the remote path, measured.

On the bench's prompts: through RemoteEngine one request at a time and all at once, against
the server at URL, or, without one, llama.cpp's `llama-server` this starts on the packaged
GGUF on a loopback port (its own process, one slot per prompt, the engine's threads). The
sequential and the concurrent runs are greedy on the same server, so their texts are
compared too: batching on the server must not change an answer.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, cast

from engine.types import SamplingParams

CONTEXT = 4096


def openai_peer(
    settings: Any,
    engine_url: str | None,
    conversations: Sequence[Any],
    new_tokens: int,
    threads: int,
) -> dict[str, Any]:
    from bench.workload import run_engine
    from engine.remote.llama_server import LlamaServer, missing_reason
    from engine.remote.startup import start_remote_engine
    from engine.remote.tokenizer import default_gguf_path

    report: dict[str, Any] = {}
    server = None
    if not engine_url:
        reason = missing_reason()
        if reason:
            return {"openai_error": reason}
        server = LlamaServer(
            default_gguf_path(), threads=threads, context=CONTEXT, slots=len(conversations)
        ).wait_ready()
        engine_url = server.url
        report["openai_server"] = (
            f"llama-server started here (-np {len(conversations)}, {threads} threads)"
        )
    try:
        options = settings.model_copy(update={"engine_url": engine_url}).engine_options()
        engine = start_remote_engine(options)
        report["openai_model"] = engine.info.name
        params = SamplingParams(max_new_tokens=new_tokens, temperature=0.0, ignore_eos=True)
        engine.generate(conversations[0], SamplingParams(max_new_tokens=4))  # warm-up
        remote_s = 0.0
        reasons: set[str] = set()
        alone: list[str] = []
        for conversation in conversations:
            started = time.perf_counter()
            result = engine.generate(conversation, params)
            remote_s += time.perf_counter() - started
            reasons.add(result.finish_reason.value)
            alone.append(result.text)
        together = run_engine(cast(Any, engine), conversations, params)  # same contract
        engine.shutdown()
    finally:
        if server is not None:
            server.stop()
    tokens = new_tokens * len(conversations)  # exactly the budget: end of turn is masked
    report["openai_finish_reasons"] = sorted(reasons)
    report["openai_sequential_tok_s"] = round(tokens / remote_s, 1)
    report["openai_concurrent_tok_s"] = round(together["tok_s"], 1)
    report["openai_ttft_p50_s"] = round(together["ttft_p50_s"], 3)
    report["openai_ttft_p95_s"] = round(together["ttft_p95_s"], 3)
    same = sum(a == b for a, b in zip(alone, together["texts"], strict=True))
    report["openai_same_text_alone_and_together"] = f"{same}/{len(conversations)}"
    return report
