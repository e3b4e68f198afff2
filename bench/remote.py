"""`deskhand bench engine --peer openai [--engine-url URL]`: the remote path, measured.

On the bench's prompts: through RemoteEngine one request at a time and all at once, against
the server at URL, or, without one, a llama-cpp-python server this starts on the packaged
GGUF on a loopback port. In that case the HTTP path's cost per token is measured too: each
prompt goes through the server and then through the same llama.cpp in this process (its
Python API), same GGUF, threads, context, greedy, same token budget, interleaved so that a
noisy machine slows both alike; the outputs are compared text for text.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, cast

from engine.types import SamplingParams

CONTEXT = 4096
# llama_cpp.server applies repeat_penalty=1.1 to requests that do not set one (OpenAI's API
# has no such field); its Python API defaults to 1.0. The in-process run uses the server's.
SERVER_REPEAT_PENALTY = 1.1


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
        server = LlamaServer(default_gguf_path(), threads=threads, context=CONTEXT).wait_ready()
        engine_url = server.url
        report["openai_server"] = f"llama_cpp.server started here ({threads} threads)"
    try:
        options = settings.model_copy(update={"engine_url": engine_url}).engine_options()
        engine = start_remote_engine(options)
        report["openai_model"] = engine.info.name
        params = SamplingParams(max_new_tokens=new_tokens, temperature=0.0, ignore_eos=True)
        engine.generate(conversations[0], SamplingParams(max_new_tokens=4))  # warm-up
        local = _in_process_llama(str(default_gguf_path()), threads) if server else None
        if local is not None:  # the same warm-up: llama.cpp reuses the previous prompt's
            local.create_chat_completion(  # prefix, and results depend on that history
                conversations[0],
                max_tokens=4,
                temperature=0.0,
                repeat_penalty=SERVER_REPEAT_PENALTY,
            )
        bias = {str(t): -100.0 for t in engine.chat.stop_token_ids}
        remote_s = local_s = 0.0
        same = 0
        reasons: set[str] = set()
        for conversation in conversations:
            started = time.perf_counter()
            result = engine.generate(conversation, params)
            remote_s += time.perf_counter() - started
            reasons.add(result.finish_reason.value)
            if local is not None:
                started = time.perf_counter()
                out = local.create_chat_completion(
                    conversation,
                    max_tokens=new_tokens,
                    temperature=0.0,
                    logit_bias=bias,
                    repeat_penalty=SERVER_REPEAT_PENALTY,
                )
                local_s += time.perf_counter() - started
                same += out["choices"][0]["message"]["content"] == result.text
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
    if local is not None:
        report["llama_cpp_in_process_tok_s"] = round(tokens / local_s, 1)
        report["http_vs_in_process"] = round(local_s / remote_s, 3)
        report["http_overhead_ms_per_token"] = round(1000 * (remote_s - local_s) / tokens, 3)
        report["openai_same_text_as_in_process"] = f"{same}/{len(conversations)}"
    return report


def _in_process_llama(gguf_path: str, threads: int) -> Any:
    from llama_cpp import Llama  # loaded with its defaults, as the server loads it

    return Llama(
        model_path=gguf_path,
        n_ctx=CONTEXT,
        n_threads=threads,
        n_threads_batch=threads,
        verbose=False,
    )
