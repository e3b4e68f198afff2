"""KB_STANDALONE=model: the model rewrites a follow-up (scripted here), and a rewrite that
invents a value or refuses falls back to the rules."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from engine import Engine
from kb.desk import SupportDesk
from kb.rewrite import model_standalone
from tests.bot.scripted import make_scripted_engine, new_script

THREAD = [
    {"role": "user", "content": "I'm about to put up my new Aurelle T3 myself"},
    {"role": "assistant", "content": "Great, what do you need?"},
]
FOLLOW_UP = "how high up should that go?"


@pytest.fixture(scope="module")
def scripted() -> Iterator[Engine]:
    engine = make_scripted_engine()
    yield engine
    engine.shutdown()


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        (
            "How high up the wall should the Aurelle T3 go?\n",
            "How high up the wall should the Aurelle T3 go?",
        ),
        ("Should the Aurelle T3 go 180 cm up?", None),  # a number nobody said
        ("I don't know.", None),
        ("", None),
        ("Where on the wall should the Aurelle T3 thermostat be mounted?", None),
    ],  # cut off
)
def test_model_rewrites_pass_a_sanity_check(
    scripted: Engine, written: str, expected: str | None
) -> None:
    script = new_script(scripted, answer=lambda turns: written)
    assert model_standalone(scripted, FOLLOW_UP, THREAD) == expected
    assert "Last question: how high up should that go?" in script.prompts[-1][-1][1]


def test_the_desk_uses_the_models_rewrite_when_set(desk: SupportDesk, scripted: Engine) -> None:
    new_script(scripted, answer=lambda turns: "Where is the Aurelle T3 mounted?")
    saved = desk.settings, desk.engine
    desk.settings = replace(saved[0], kb_standalone="model")
    desk.engine = scripted
    try:
        plan = desk.prepare(FOLLOW_UP, THREAD)
        assert plan.standalone_question == "Where is the Aurelle T3 mounted?"
        new_script(scripted, answer=lambda turns: "I don't know")
        plan = desk.prepare(FOLLOW_UP, THREAD)
        assert plan.standalone_question == "how high up should the Aurelle T3 go?"  # the rules
    finally:
        desk.settings, desk.engine = saved
