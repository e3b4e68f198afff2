"""Turning a step's logits into next tokens: greedy, temperature and top-p, per row.

Each sampled row draws from its own seeded generator, so a request's text depends on its
seed and its logits, not on which other requests happen to share the batch.
"""

from __future__ import annotations

import torch

from engine.types import SamplingParams


class RowSampler:
    """The sampling state of one request: its parameters and its private random stream."""

    __slots__ = ("generator", "params")

    def __init__(self, params: SamplingParams, device: torch.device) -> None:
        self.params = params
        self.generator: torch.Generator | None = None
        if params.temperature > 0:
            self.generator = torch.Generator(device=device)
            if params.seed is not None:
                self.generator.manual_seed(params.seed)
            else:
                self.generator.seed()


def sample_next(logits: torch.Tensor, samplers: list[RowSampler]) -> list[int | None]:
    """logits: (n, vocab); one token id per row, None where that row's sampling failed."""
    greedy = torch.argmax(logits, dim=-1)  # (n,)
    tokens: list[int | None] = list(greedy.tolist())
    for row, sampler in enumerate(samplers):
        if sampler.generator is None:
            continue
        try:
            tokens[row] = _sample_row(logits[row], sampler.params, sampler.generator)
        except RuntimeError:  # e.g. inf/nan probabilities from an extreme temperature
            tokens[row] = None
    return tokens


def _sample_row(logits: torch.Tensor, params: SamplingParams, generator: torch.Generator) -> int:
    probs = torch.softmax(logits.float() / params.temperature, dim=-1)  # (vocab,)
    if params.top_p < 1.0:
        sorted_probs, order = torch.sort(probs, descending=True)
        cumulative = torch.cumsum(sorted_probs, dim=-1)
        # keep the smallest prefix whose mass reaches top_p (always at least one token)
        keep = cumulative - sorted_probs < params.top_p
        sorted_probs = torch.where(keep, sorted_probs, torch.zeros_like(sorted_probs))
        choice = torch.multinomial(sorted_probs, 1, generator=generator)
        return int(order[choice].item())
    return int(torch.multinomial(probs, 1, generator=generator).item())
