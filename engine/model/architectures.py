"""Which model families the engine runs exactly, and what each needs (checked at start-up).

The engine drives a model's decoder itself (slot KV cache, per-row positions and masks), so
only families proven token-identical to `generate` by tests/engine/test_architectures.py
are accepted; anything else fails at start-up with a message naming the architecture.
Sliding-window attention is handled by capping the context window at the window (then no
layer ever attends past it); Gemma's final-logit soft-capping is applied by the runner;
its attention soft-capping needs the eager attention kernel, which is forced.
"""

from __future__ import annotations

import logging
from typing import Any

from engine.errors import UnsupportedModel

logger = logging.getLogger(__name__)

SUPPORTED = {
    "llama": "Llama 2/3, SmolLM2",
    "qwen2": "Qwen2, Qwen2.5",
    "qwen3": "Qwen3",
    "mistral": "Mistral",
    "gemma2": "Gemma 2",
    "gemma3_text": "Gemma 3 (text)",
    "phi3": "Phi-3",
}


def check_supported(config: Any) -> None:
    """Raise UnsupportedModel unless the engine runs this config exactly."""
    model_type = getattr(config, "model_type", "?")
    if model_type not in SUPPORTED:
        names = ", ".join(f"{k} ({v})" for k, v in SUPPORTED.items())
        architectures = ", ".join(getattr(config, "architectures", None) or [model_type])
        raise UnsupportedModel(
            f"the engine does not support the {architectures} architecture "
            f"(model_type {model_type!r}); supported: {names}"
        )
    if getattr(config, "rope_scaling", None) and (
        (config.rope_scaling or {}).get("rope_type") in {"longrope", "dynamic"}
    ):
        raise UnsupportedModel(
            f"{model_type}: rope scaling {config.rope_scaling.get('rope_type')!r} changes with "
            "the sequence length, which the batched cache does not follow; use a checkpoint "
            "without it"
        )


def sliding_window(config: Any) -> int | None:
    """The attention window of any sliding-window layer, or None when every layer is full."""
    window = getattr(config, "sliding_window", None)
    if not window:
        return None
    if getattr(config, "use_sliding_window", True) is False:  # Qwen2/3 keep it off by default
        return None
    return int(window)


def context_limit(config: Any, wanted: int) -> int:
    """The context window the engine can serve exactly for this config."""
    limit = min(wanted, int(config.max_position_embeddings))
    window = sliding_window(config)
    if window is not None and window < limit:
        logger.warning(
            "%s uses sliding-window attention (%d tokens): the context window is capped "
            "at %d so every layer attends exactly as `generate` does",
            config.model_type,
            window,
            window,
        )
        limit = window
    return limit
