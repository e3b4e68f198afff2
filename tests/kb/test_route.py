"""Routing: channel modes, small talk, and the on-topic test over the held-out fixture KB;
`deskhand ask --json` prints the decision."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import kb.cli
from deskhand.cli import kb_cli_config
from engine.testing import make_tiny_engine
from kb.cli import ask_main
from kb.desk import SupportDesk
from kb.route import ChannelModes, ChannelModesError, on_topic, smalltalk_kind

from .conftest import HELDOUT, make_settings


def test_channel_modes_parse_get_and_set() -> None:
    modes = ChannelModes.parse("C123=kb, C456=assistant,dm=auto,default=kb")
    assert modes.get("C123") == "kb" and modes.get("C456") == "assistant"
    assert modes.get("C999") == "kb"  # default
    assert modes.get("D042", is_dm=True) == "auto" and modes.get("D042") == "auto"
    modes.set("C999", "assistant")
    assert modes.get("C999") == "assistant"
    assert ChannelModes.parse("").get("C1") == "auto" and ChannelModes.parse("").get(None) == "auto"


@pytest.mark.parametrize("spec", ["C1", "C1=chat", "=kb"])
def test_bad_channel_modes_say_what_is_wrong(spec: str) -> None:
    with pytest.raises(ChannelModesError, match="CHANNEL_MODES"):
        ChannelModes.parse(spec)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("hi", "greeting"),
        ("Hello there!", "greeting"),
        ("<@U1> hey", "greeting"),
        ("thanks, that helped!", "thanks"),
        ("hi, thanks!", "thanks"),
        ("ok", "ack"),
        ("hello, how are you?", "how_are_you"),
        ("who are you?", "who_are_you"),
        ("谢谢！", "thanks"),
        ("bye :wave:", "bye"),
        ("hi, how long is the warranty?", None),
        ("history of the company", None),
        ("thanks, and does it ship to Spain?", None),
        ("write a haiku about Mondays", None),
    ],
)
def test_small_talk_is_the_whole_message_or_nothing(text: str, kind: str | None) -> None:
    assert smalltalk_kind(text) == kind


def test_on_topic_needs_nearness_or_a_topic_word_and_some() -> None:
    assert on_topic("q", 0.5, [])  # very near a passage
    assert on_topic("q", 0.3, ["thermostat"])  # names what the KB is about, and near enough
    assert not on_topic("q", 0.35, [])
    assert not on_topic("q", 0.15, ["time"])  # "17 times 23" shares a heading word, no more
    assert on_topic("q", 0.21, ["cragfel", "gx", "work"])  # names a product: KB (or abstain)
    assert not on_topic("q", 0.1, ["cragfel", "gx"])
    assert not on_topic("法国的首都是哪里？", 0.47, [])  # CJK needs more: MiniLM is English


@pytest.mark.parametrize(
    ("question", "route", "tier"),
    [
        ("how much is next day delivery to ireland", "kb", "answer"),
        ("what is the capital of Ireland?", "assistant", None),  # shares only a place name
        ("tell me a joke about programmers", "assistant", None),
        ("does the aurelle t3 work with apple homekit?", "kb", "abstain"),  # known product
        ("how much power does the purifier use in watts?", "kb", "abstain"),
        ("hello!", "smalltalk", None),
    ],
)
def test_auto_routes_by_topic(
    desk: SupportDesk, question: str, route: str, tier: str | None
) -> None:
    decision, plan = desk.route(question)
    assert (decision.route, decision.mode) == (route, "auto"), decision.reason
    if tier is not None:
        assert plan is not None and plan.tier == tier, plan.notes


def test_the_unknown_name_is_why_homekit_abstains(desk: SupportDesk) -> None:
    plan = desk.prepare("does the aurelle t3 work with apple homekit?")
    assert plan.tier == "abstain" and plan.quotes == []
    # nothing retrieved is about it, and the name check would also stop it
    assert plan.notes in (
        ("the help articles never mention homekit",),
        ("no passage is about the question's subject",),
    )
    from kb.checks import unknown_names

    assert unknown_names(
        "does the aurelle t3 work with apple homekit?",
        desk._in_kb,
        desk.embedder.is_word,
        desk._near_kb,
    ) == ["homekit"]
    final = desk.finalize(plan, "")
    assert final.abstained and final.handoff and "Aurelle" not in final.text


def test_channel_modes_override_the_route(desk: SupportDesk) -> None:
    decision, plan = desk.route("tell me a joke about programmers", mode="kb")
    assert decision.route == "kb" and plan is not None and plan.tier == "abstain"
    decision, plan = desk.route("how much is next day delivery to ireland", mode="assistant")
    assert decision.route == "assistant" and plan is None
    # In kb mode small talk is still a friendly reply, never a hand-off.
    assert desk.route("thanks!", mode="kb")[0].route == "smalltalk"


def test_a_hedge_quotes_only_what_is_about_the_subject(desk: SupportDesk) -> None:
    # "Ireland" is in the shipping table; the capital of Ireland is not: no hedge quoting it.
    plan = desk.prepare("what is the population of Ireland?")
    assert plan.tier == "abstain" and plan.quotes == [], [q.text for q in plan.quotes]


def test_ask_json_prints_route_tier_text_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(kb.cli, "_start_engine", lambda s: make_tiny_engine(context_window=2048))
    settings = make_settings(tmp_path, max_new_tokens=8)
    kb_dir = str(HELDOUT / "kb")
    assert (
        ask_main(
            ["how much is next day delivery to ireland", "--kb", kb_dir, "--json"],
            kb_cli_config(settings),
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert (out["route"], out["tier"]) == ("kb", "answer")
    assert "€15" in out["text"] and out["sources"][0]["doc"] == "shipping.md"
    assert ask_main(["tell me a joke about programmers", "--json"], kb_cli_config(settings)) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["route"], out["tier"], out["sources"]) == ("assistant", None, [])
    assert out["text"].endswith(
        "_Not from our help articles: a general answer from the assistant._"
    )
    assert ask_main(["thanks!", "--json", "--no-model"], kb_cli_config(settings)) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["route"] == "smalltalk" and out["text"].startswith("You're welcome!")


def test_ask_without_a_knowledge_base_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ask_main(["hello", "--no-model"], kb_cli_config(make_settings(tmp_path))) == 2
    assert "no knowledge base" in capsys.readouterr().err
