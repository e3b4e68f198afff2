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
from engine.model.runner import ModelRunner
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
    """ModelRunner bookkeeping without the model: rows hold scripted token lists."""

    CONTEXT_WINDOW = 32_768

    def __init__(self, model: Any, **kwargs: Any) -> None:
        super().__init__(model, **kwargs)
        self.context_window = self.CONTEXT_WINDOW
        self.script = Script()
        self.rows: list[list[int]] = []

    def prefill(
        self, prompts: Sequence[Sequence[int]], params: Sequence[SamplingParams]
    ) -> list[int | None]:
        if self.script.fail_prefill:
            raise RuntimeError("scripted prefill failure (secret detail xoxb-123-should-not-leak)")
        for prompt in prompts:
            turns = parse_prompt(prompt)
            self.script.prompts.append(turns)
            answer = self.script.answer(turns)
            self.rows.append([b + BYTE_OFFSET for b in answer.encode()] + [IM_END])
            self.lengths.append(len(prompt))
            self.samplers.append(None)  # type: ignore[arg-type]
        self.script.started.set()
        return [self._next(row) for row in range(len(self.rows) - len(prompts), len(self.rows))]

    def decode(self, last_tokens: Sequence[int]) -> list[int | None]:
        if self.script.step_delay_s:
            time.sleep(self.script.step_delay_s)
        self.lengths = [n + 1 for n in self.lengths]
        return [self._next(row) for row in range(len(self.rows))]

    def remove(self, row: int) -> None:
        last = len(self.rows) - 1
        if row != last:
            self.rows[row] = self.rows[last]
            self.lengths[row] = self.lengths[last]
            self.samplers[row] = self.samplers[last]
        self.rows.pop()
        self.lengths.pop()
        self.samplers.pop()

    def clear(self) -> None:
        self.rows.clear()
        self.lengths.clear()
        self.samplers.clear()

    def _next(self, row: int) -> int:
        tokens = self.rows[row]
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
