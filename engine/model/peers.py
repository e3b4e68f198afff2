"""Other ways to serve the same requests, measured by `deskhand bench engine --peer ...`.

llama.cpp (through llama-cpp-python, installed only for this) on the same GGUF file, one
request at a time as its Python API serves them; and transformers' own continuous batching
(`generate_batch`), the alternative to our decode loop.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import torch


def hf_continuous_batching_tok_s(
    model: torch.nn.Module, prompts: Sequence[Sequence[int]], new_tokens: int
) -> float:
    """transformers' generate_batch over all prompts at once (after a warm-up)."""
    from transformers import GenerationConfig

    config = GenerationConfig(
        max_new_tokens=new_tokens, do_sample=False, eos_token_id=-1, pad_token_id=0
    )
    model.generate_batch(
        inputs=[list(p) for p in prompts[:2]], generation_config=config, max_new_tokens=4
    )
    started = time.perf_counter()
    outputs = model.generate_batch(
        inputs=[list(p) for p in prompts], generation_config=config, max_new_tokens=new_tokens
    )
    elapsed = time.perf_counter() - started
    return sum(len(o.generated_tokens) for o in outputs.values()) / elapsed


def llama_cpp_tok_s(
    gguf_path: str, conversations: Sequence[Any], new_tokens: int, threads: int
) -> float:
    """llama-cpp-python on the GGUF, the conversations one after another, greedy."""
    try:
        from llama_cpp import Llama
    except ImportError as err:
        raise SystemExit(
            "the llama.cpp peer needs llama-cpp-python: `.venv/bin/pip install llama-cpp-python` "
            "(it compiles llama.cpp, about 10 minutes on 2 cores)"
        ) from err
    llm = Llama(
        model_path=gguf_path,
        n_ctx=2048,
        n_threads=threads,
        n_batch=512,
        verbose=False,
        **_without_extra_buffer_types(Llama),
    )
    eos = llm.token_eos()
    never_stop = {eos: -1e9}  # generate exactly `new_tokens`, as the engine run does
    llm.create_chat_completion(conversations[0], max_tokens=4, temperature=0.0)  # warm-up
    started, tokens = time.perf_counter(), 0
    for conversation in conversations:
        out = llm.create_chat_completion(
            conversation, max_tokens=new_tokens, temperature=0.0, logit_bias=never_stop
        )
        tokens += out["usage"]["completion_tokens"]
    return tokens / (time.perf_counter() - started)


def _without_extra_buffer_types(llama_class: Any) -> dict[str, Any]:
    # ggml's AMX matmul (an "extra buffer type") crashed on these CPUs; turn it off if we can.
    import inspect

    params = inspect.signature(llama_class.__init__).parameters
    return {"use_extra_bufts": False} if "use_extra_bufts" in params else {}
