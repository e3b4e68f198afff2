"""Other ways to serve the same requests, measured by `deskhand bench engine --peer ...`.

llama.cpp (through llama-cpp-python, installed only for this) on the same GGUF file, one
request at a time as its Python API serves them; and transformers' own continuous batching
(`generate_batch`), the alternative to our decode loop.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from typing import Any

CausalLM = Any  # a transformers causal LM (PreTrainedModel); nn.Module typing hides its attributes


def hf_continuous_batching_tok_s(
    model: CausalLM, prompts: Sequence[Sequence[int]], new_tokens: int
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


class LlamaCppPeer:
    """llama-cpp-python on the GGUF, serving conversations one after another, greedy.

    Its prompt processing gets the same thread count as its decoding (llama-cpp-python's
    default for it is every core), as the engine has one thread count for both. Like the
    engine, it reuses the prompt prefix it already holds: llama-cpp-python keeps the last
    prompt's K/V, so each conversation recomputes only what follows the shared system prompt.
    """

    def __init__(self, gguf_path: str, threads: int, warm_up: Any) -> None:
        self.llm = load_llama_cpp(gguf_path, threads, n_ctx=2048, n_threads_batch=threads)
        self.llm.create_chat_completion(warm_up, max_tokens=4, temperature=0.0)

    def tok_s(self, conversations: Sequence[Any], new_tokens: int) -> float:
        never_stop = {self.llm.token_eos(): -1e9}  # exactly `new_tokens`, as the engine run
        started, tokens = time.perf_counter(), 0
        for conversation in conversations:
            out = self.llm.create_chat_completion(
                conversation, max_tokens=new_tokens, temperature=0.0, logit_bias=never_stop
            )
            tokens += out["usage"]["completion_tokens"]  # type: ignore[index]
        return tokens / (time.perf_counter() - started)


def load_llama_cpp(gguf_path: str, threads: int, **options: Any) -> Any:
    """A llama_cpp.Llama on the GGUF, or a SystemExit saying how to install it."""
    try:
        from llama_cpp import Llama
    except ImportError as err:
        raise SystemExit(
            "the llama.cpp peer needs llama-cpp-python: `.venv/bin/pip install llama-cpp-python` "
            "(it compiles llama.cpp, about 10 minutes on 2 cores)"
        ) from err
    with _without_extra_buffer_types():
        return Llama(model_path=gguf_path, n_threads=threads, verbose=False, **options)


@contextlib.contextmanager
def _without_extra_buffer_types() -> Iterator[None]:
    """Load with ggml's "extra buffer types" (its AMX weight repacking) off.

    llama.cpp's default AMX build crashed in ggml's AMX matmul on these CPUs; the Python API
    does not expose the switch, so the default model parameters are patched while loading.
    """
    import llama_cpp.llama_cpp as llama_cpp  # the module llama_cpp.Llama reads it from

    original = llama_cpp.llama_model_default_params

    def patched() -> Any:
        params = original()
        if hasattr(params, "use_extra_bufts"):
            params.use_extra_bufts = False
        return params

    llama_cpp.llama_model_default_params = patched
    try:
        yield
    finally:
        llama_cpp.llama_model_default_params = original
