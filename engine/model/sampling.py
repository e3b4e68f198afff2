"""Turning a step's logits into next tokens: greedy, temperature and top-p, for all rows at once.

A request's repetition_penalty (above 1) first lowers the logits of the tokens it has already
generated, as Hugging Face's RepetitionPenaltyLogitsProcessor does (positive logits divided,
negative ones multiplied), over its own output only: small models otherwise loop on greedy.
Tokens of a text it must not copy (`avoid_token_ids`, the previous answer in a thread) count
as already written, and a token that would complete a run of NO_REPEAT_NGRAM tokens of that
text is not written at all: a follow-up does not repeat the answer it follows.

Sampling is vectorised (one device sync per step, not one per row): each sampled row draws
exponential noise from its own seeded generator and takes argmax(p / noise), the
"exponential race", which picks token i with probability p_i. A request's text therefore
depends on its seed and its logits, not on which other requests happen to share the batch.
"""

from __future__ import annotations

import torch

from engine.types import SamplingParams

_FAILED = -1
NO_REPEAT_NGRAM = 6  # tokens: no run this long of the avoided text is written again (a
# shorter one would rule out a part number or a command a follow-up has to repeat)


class RowSampler:
    """The sampling state of one request: its parameters and its private random stream."""

    __slots__ = ("banned", "generated", "generator", "params", "recent")

    def __init__(self, params: SamplingParams, device: torch.device) -> None:
        self.params = params
        # the ids it has produced, and those of the avoided text (for repetition_penalty)
        self.generated: set[int] = set(params.avoid_token_ids)
        self.banned = _ngram_continuations(params.avoid_token_ids, NO_REPEAT_NGRAM)
        self.recent: list[int] = []  # its last NO_REPEAT_NGRAM - 1 tokens (with banned)
        self.generator: torch.Generator | None = None
        if params.temperature > 0:
            self.generator = torch.Generator(device=device)
            if params.seed is not None:
                self.generator.manual_seed(params.seed)
            else:
                self.generator.seed()


def sample_next(logits: torch.Tensor, samplers: list[RowSampler]) -> list[int | None]:
    """logits: (n, vocab); one token id per row, None where that row's sampling failed."""
    _penalise_repeats(logits, samplers)
    _ban_copies(logits, samplers)
    tokens = _pick(logits, samplers)
    for sampler, token in zip(samplers, tokens, strict=True):
        if token is not None and sampler.params.repetition_penalty != 1.0:
            sampler.generated.add(token)
        if token is not None and sampler.banned:
            sampler.recent = [*sampler.recent, token][-(NO_REPEAT_NGRAM - 1) :]
    return tokens


def _ngram_continuations(ids: tuple[int, ...], n: int) -> dict[tuple[int, ...], set[int]]:
    """For each run of n - 1 tokens of `ids`, the tokens that follow it there."""
    follows: dict[tuple[int, ...], set[int]] = {}
    for i in range(len(ids) - n + 1):
        follows.setdefault(ids[i : i + n - 1], set()).add(ids[i + n - 1])
    return follows


def _ban_copies(logits: torch.Tensor, samplers: list[RowSampler]) -> None:
    """In place: a token that would complete a copied run of the avoided text is ruled out."""
    for row, sampler in enumerate(samplers):
        if not sampler.banned or len(sampler.recent) < NO_REPEAT_NGRAM - 1:
            continue
        banned = sampler.banned.get(tuple(sampler.recent))
        if banned:
            ids = torch.tensor(sorted(banned), dtype=torch.long, device=logits.device)
            logits[row, ids] = float("-inf")


def _penalise_repeats(logits: torch.Tensor, samplers: list[RowSampler]) -> None:
    """In place: each row's already generated tokens made less likely by its penalty."""
    for row, sampler in enumerate(samplers):
        penalty = sampler.params.repetition_penalty
        if penalty == 1.0 or not sampler.generated:
            continue
        ids = torch.tensor(sorted(sampler.generated), dtype=torch.long, device=logits.device)
        values = logits[row, ids]
        logits[row, ids] = torch.where(values > 0, values / penalty, values * penalty)


def _pick(logits: torch.Tensor, samplers: list[RowSampler]) -> list[int | None]:
    greedy = torch.argmax(logits, dim=-1)  # (n,)
    if all(s.generator is None for s in samplers):
        return list(greedy.tolist())
    device = logits.device
    sampled = torch.tensor([s.generator is not None for s in samplers], device=device)
    temperature = torch.tensor(
        [s.params.temperature or 1.0 for s in samplers], dtype=torch.float32, device=device
    )
    probs = torch.softmax(logits.float() / temperature[:, None], dim=-1)  # (n, vocab)
    top_p = torch.tensor([s.params.top_p for s in samplers], dtype=torch.float32, device=device)
    if bool((top_p < 1.0).any()):
        probs = _keep_top_p(probs, top_p)
    noise = torch.ones_like(probs)
    for row, sampler in enumerate(samplers):
        if sampler.generator is not None:
            noise[row].exponential_(generator=sampler.generator)
    drawn = torch.argmax(probs / noise, dim=-1)
    failed = sampled & ~torch.isfinite(probs).all(dim=-1)  # e.g. an extreme temperature
    tokens = torch.where(sampled, drawn, greedy).masked_fill(failed, _FAILED)
    return [None if t == _FAILED else t for t in tokens.tolist()]


def _keep_top_p(probs: torch.Tensor, top_p: torch.Tensor) -> torch.Tensor:
    """Zero all but the smallest prefix (by probability) whose mass reaches each row's top_p."""
    sorted_probs, order = torch.sort(probs, dim=-1, descending=True)
    cumulative = torch.cumsum(sorted_probs, dim=-1)
    keep_sorted = cumulative - sorted_probs < top_p[:, None]  # always keeps the top token
    keep = torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)
    return torch.where(keep, probs, torch.zeros_like(probs))
