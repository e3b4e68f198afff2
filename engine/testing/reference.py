"""Reference paths the benchmark and tests compare the engine against.

Plain `model.generate`, one request at a time: the baseline for speed and the oracle for
correctness. Also builds models for measurement (a dtype copy, a random model of a
given size) so no other module needs torch for that.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch

CausalLM = Any  # a transformers causal LM (PreTrainedModel); nn.Module typing hides its attributes


def generate_one(
    model: CausalLM,
    prompt: Sequence[int],
    max_new_tokens: int,
    stop_token_ids: Sequence[int] | None,
) -> list[int]:
    """Greedy `model.generate` for one prompt; returns the new token ids (stop token kept)."""
    device = next(model.parameters()).device
    ids = torch.tensor([list(prompt)], device=device)
    # An explicit mask: without it generate masks every pad-id token, and SmolLM2's pad id
    # is its end-of-turn token, which appears inside every chat prompt.
    mask = torch.ones_like(ids)
    out = model.generate(
        ids,
        attention_mask=mask,
        max_new_tokens=max_new_tokens,
        do_sample=False,
        eos_token_id=list(stop_token_ids) if stop_token_ids else None,
        pad_token_id=model.generation_config.pad_token_id or 0,
    )
    return out[0, len(prompt) :].tolist()


def clone_as(model: CausalLM, dtype: str) -> CausalLM:
    target = getattr(torch, dtype)
    if next(model.parameters()).dtype == target:
        return model
    return copy.deepcopy(model).to(target).eval()


def random_llama(vocab_size: int, size: str, *, device: str, dtype: str) -> CausalLM:
    """A randomly initialised Llama of about `size` ("1b", "350m", "135m") parameters."""
    from transformers import LlamaConfig, LlamaForCausalLM

    shapes: dict[str, Any] = {
        "135m": dict(
            hidden_size=576,
            intermediate_size=1536,
            num_hidden_layers=30,
            num_attention_heads=9,
            num_key_value_heads=3,
        ),
        "350m": dict(
            hidden_size=960,
            intermediate_size=2560,
            num_hidden_layers=32,
            num_attention_heads=15,
            num_key_value_heads=5,
        ),
        "1b": dict(
            hidden_size=2048,
            intermediate_size=8192,
            num_hidden_layers=16,
            num_attention_heads=32,
            num_key_value_heads=8,
        ),
    }[size]
    config = LlamaConfig(
        vocab_size=vocab_size, max_position_embeddings=8192, tie_word_embeddings=True, **shapes
    )
    torch.manual_seed(0)
    with torch.device(device):
        model = LlamaForCausalLM(config)
    return model.to(getattr(torch, dtype)).eval()
