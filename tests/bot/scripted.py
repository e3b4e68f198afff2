"""A model runner that writes scripted answers, for bot tests that need specific text.

It replaces only what the model says: the engine around it (admission, queueing, batching,
streaming, cancellation, timeouts) is the real one. Token ids follow the tiny byte tokenizer
(byte value + 3), so any UTF-8 text can be scripted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine import Engine, SamplingParams
from engine.model.runner import ModelRunner, RowRequest
from engine.testing import make_tiny_engine

IM_START, IM_END = 1, 2
BYTE_OFFSET = 3
Turns = list[tuple[str, str]]  # (role, content) as the model saw them


@dataclass
class Script:
    """What the scripted model answers, and how fast."""

    answer: Callable[[Turns], str] = lambda turns: "Scripted answer."
    step_delay_s: float = 0.0  # per decode step: makes generation take a while
    fail_prefill: bool = False  # raise in prefill: the request fails, the engine lives
    prompts: list[Turns] = field(default_factory=list)  # every prompt seen, in order
    params: list[SamplingParams] = field(default_factory=list)  # and how each was sampled
    started: threading.Event = field(default_factory=threading.Event)  # first prefill


def parse_prompt(ids: Sequence[int]) -> Turns:
    """The chat turns in a prompt encoded with the tiny model's ChatML template."""
    turns: Turns = []
    segment: list[int] = []
    for token in [*ids, IM_START]:
        if token == IM_START:
            text = bytes(t - BYTE_OFFSET for t in segment if t >= BYTE_OFFSET).decode(
                "utf-8", errors="replace"
            )
            if text:
                role, _, content = text.partition("\n")
                turns.append((role, content.removesuffix("\n")))
            segment = []
        elif token != IM_END:
            segment.append(token)
    return [(role, content) for role, content in turns if content or role != "assistant"]


class ScriptedRunner(ModelRunner):
    """ModelRunner bookkeeping without the model: each sequence id holds its scripted tokens."""

    CONTEXT_WINDOW = 32_768

    def __init__(self, model: Any, **kwargs: Any) -> None:
        super().__init__(model, **kwargs)
        self.context_window = self.CONTEXT_WINDOW
        self.script = Script()
        self.answers: dict[int, list[int]] = {}  # sequence id -> tokens still to write

    @property
    def num_rows(self) -> int:
        return len(self.answers)

    def prefill(self, requests: Sequence[RowRequest]) -> dict[int, int | None]:
        if self.script.fail_prefill:
            raise RuntimeError("scripted prefill failure (secret detail xoxb-123-should-not-leak)")
        for key, prompt, params in requests:
            turns = parse_prompt(prompt)
            self.script.prompts.append(turns)
            self.script.params.append(params)
            answer = self.script.answer(turns)
            self.answers[key] = [b + BYTE_OFFSET for b in answer.encode()] + [IM_END]
        self.script.started.set()
        return {key: self._next(key) for key, _, _ in requests}

    def prefill_chunk(self, request: RowRequest, chunk_tokens: int) -> dict[int, int | None]:
        return self.prefill([request])

    def decode(self) -> dict[int, int | None]:
        if self.script.step_delay_s:
            time.sleep(self.script.step_delay_s)
        return {key: self._next(key) for key in self.answers}

    def remove(self, key: int) -> None:
        self.answers.pop(key, None)

    def clear(self) -> None:
        self.answers.clear()

    def _next(self, key: int) -> int:
        tokens = self.answers[key]
        return tokens.pop(0) if tokens else IM_END


def make_scripted_engine(*, max_running: int = 4, max_queue: int = 16) -> Engine:
    return make_tiny_engine(
        max_running=max_running, max_queue=max_queue, runner_class=ScriptedRunner, context_window=64
    )


def script_of(engine: Engine) -> Script:
    runner = engine.runner
    assert isinstance(runner, ScriptedRunner)
    return runner.script


def new_script(engine: Engine, **fields: Any) -> Script:
    runner = engine.runner
    assert isinstance(runner, ScriptedRunner)
    runner.script = Script(**fields)
    return runner.script
