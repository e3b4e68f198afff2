"""repetition_penalty: a row's own earlier tokens lose out; other rows and penalty 1 do not."""

from __future__ import annotations

import pytest
import torch

from engine.model.sampling import RowSampler, sample_next
from engine.types import SamplingParams

CPU = torch.device("cpu")


def step(logits: list[list[float]], samplers: list[RowSampler]) -> list[int | None]:
    return sample_next(torch.tensor(logits), samplers)


def test_a_penalised_row_stops_repeating_its_own_token() -> None:
    looping = RowSampler(SamplingParams(repetition_penalty=1.5), CPU)
    plain = RowSampler(SamplingParams(), CPU)
    logits = [[0.0, 2.0, 2.5, -1.0], [0.0, 2.0, 2.5, -1.0]]
    assert step(logits, [looping, plain]) == [2, 2]
    # token 2 now scores 2.5 / 1.5 < 2.0 for the penalised row only
    assert step(logits, [looping, plain]) == [1, 2]
    assert looping.generated == {1, 2} and plain.generated == set()


def test_negative_logits_are_pushed_further_down() -> None:
    sampler = RowSampler(SamplingParams(repetition_penalty=2.0), CPU)
    sampler.generated.add(0)
    assert step([[-1.0, -1.5]], [sampler]) == [1]  # -1 * 2 = -2 < -1.5


def test_the_penalty_is_validated() -> None:
    with pytest.raises(ValueError, match="repetition_penalty"):
        SamplingParams(repetition_penalty=0.5).validate()
