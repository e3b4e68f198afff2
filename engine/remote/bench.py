"""`deskhand bench engine --peer openai [--engine-url URL]`: the remote path, measured.

On the bench's prompts: through RemoteEngine one request at a time and all at once, against
the server at URL, or, without one, a llama-cpp-python server this starts on the packaged
GGUF on a loopback port. The HTTP path's cost per token is the difference between that server
one request at a time and the same llama.cpp in this process (its Python API), on the same
GGUF, prompts, thread count and token budget.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, cast

from engine.types import SamplingParams


def openai_peer(
    settings: Any,
    engine_url: str | None,
    conversations: Sequence[Any],
    new_tokens: int,
    threads: int,
    in_process_llama_tok_s: float | None,
) -> dict[str, Any]:
    from engine.bench import run_engine
    from engine.remote.llama_server import LlamaServer, missing_reason
    from engine.remote.startup import start_remote_engine
    from engine.remote.tokenizer import default_gguf_path

    report: dict[str, Any] = {}
    server = None
    if not engine_url:
        reason = missing_reason()
        if reason:
            return {"openai_error": reason}
        server = LlamaServer(default_gguf_path(), threads=threads).wait_ready()
        engine_url = server.url
        report["openai_server"] = f"llama_cpp.server (started here, {threads} threads)"
    try:
        engine = start_remote_engine(settings.model_copy(update={"engine_url": engine_url}))
        report["openai_model"] = engine.info.name
        params = SamplingParams(max_new_tokens=new_tokens, temperature=0.0, ignore_eos=True)
        engine.generate(conversations[0], SamplingParams(max_new_tokens=4))  # warm-up
        started, tokens, reasons = time.perf_counter(), 0, set()
        for conversation in conversations:
            result = engine.generate(conversation, params)
            tokens += result.output_tokens
            reasons.add(result.finish_reason.value)
        sequential_tok_s = tokens / (time.perf_counter() - started)
        together = run_engine(cast(Any, engine), conversations, params)  # same contract
        engine.shutdown()
    finally:
        if server is not None:
            server.stop()
    report["openai_finish_reasons"] = sorted(reasons)
    report["openai_sequential_tok_s"] = round(sequential_tok_s, 1)
    report["openai_concurrent_tok_s"] = round(together["tok_s"], 1)
    report["openai_ttft_p50_s"] = round(together["ttft_p50_s"], 3)
    report["openai_ttft_p95_s"] = round(together["ttft_p95_s"], 3)
    if in_process_llama_tok_s is None and server is not None:
        from engine.model.peers import llama_cpp_tok_s

        in_process_llama_tok_s = llama_cpp_tok_s(
            str(default_gguf_path()), conversations, new_tokens, threads
        )
    if in_process_llama_tok_s:
        report["llama_cpp_in_process_tok_s"] = round(in_process_llama_tok_s, 1)
        report["http_vs_in_process"] = round(sequential_tok_s / in_process_llama_tok_s, 3)
        overhead_ms = 1000 * (1 / sequential_tok_s - 1 / in_process_llama_tok_s)
        report["http_overhead_ms_per_token"] = round(overhead_ms, 3)
    return report
