"""transformers' own continuous batching (`generate_batch`), the in-process alternative to
our decode loop, measured by `deskhand bench engine --peer hf-cb`. (llama.cpp is measured as
its own server process: bench/peers.py.)"""

from __future__ import annotations

import time
from collections.abc import Sequence
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
