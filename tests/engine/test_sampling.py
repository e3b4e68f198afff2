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


def test_a_text_to_avoid_counts_as_written_and_no_run_of_it_is_copied() -> None:
    from engine.model.sampling import NO_REPEAT_NGRAM

    avoid = tuple(range(5, 5 + NO_REPEAT_NGRAM))  # its last token may not follow the others
    sampler = RowSampler(SamplingParams(avoid_token_ids=avoid), CPU)
    assert sampler.generated == set(avoid)
    favours = [[0.0] * (len(avoid) + 8) for _ in avoid]
    for i, token in enumerate(avoid):
        favours[i][token] = 5.0  # the model wants to copy the avoided text token for token
    assert [step([row], [sampler])[0] for row in favours] == [*avoid[:-1], 0]


def test_a_follow_up_does_not_copy_the_answer_it_follows(tiny_engine) -> None:
    """Through the engine: greedy decoding repeats itself exactly unless told what to avoid."""
    from engine.model.sampling import NO_REPEAT_NGRAM

    prompt = [{"role": "user", "content": "write a haiku"}]
    params = SamplingParams(max_new_tokens=24, ignore_eos=True)
    first = tiny_engine.generate(prompt, params).token_ids
    assert tiny_engine.generate(prompt, params).token_ids == first  # deterministic: a copy
    again = tiny_engine.generate(
        prompt, SamplingParams(max_new_tokens=24, ignore_eos=True, avoid_token_ids=tuple(first))
    ).token_ids
    runs = {tuple(first[i : i + NO_REPEAT_NGRAM]) for i in range(len(first) - NO_REPEAT_NGRAM + 1)}
    assert again != first
    assert not any(
        tuple(again[i : i + NO_REPEAT_NGRAM]) in runs
        for i in range(len(again) - NO_REPEAT_NGRAM + 1)
    )


def test_the_engine_turns_the_text_to_avoid_into_tokens(tiny_engine) -> None:
    prompt = [{"role": "user", "content": "hi"}]
    text = "Chain hums on the hill"
    handle = tiny_engine.submit(prompt, SamplingParams(max_new_tokens=2, avoid_text=text))
    handle.result()
    expected = tuple(tiny_engine.tokenizer.encode(text, add_special_tokens=False))
    assert handle.params.avoid_token_ids == expected and expected
