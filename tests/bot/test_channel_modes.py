"""Answer modes changed from Slack, end to end through Bolt against the emulator: an admin sets
#random to `assistant` in App Home and the next question there gets the assistant (no KB
quote); a non-admin sees no section and a forged choice changes nothing; `/ask config` says
the mode; the choice survives a restart of the bot on the same database."""

from __future__ import annotations

import json

from bot.answer.answerers import open_answerer
from bot.slack.modes_view import BLOCK_PREFIX, MODE_ACTION
from kb.desk import SupportDesk
from slackemu.seed import DEFAULT_SEED
from tests.bot.conftest import bot_settings
from tests.bot.helpers import answer_text
from tests.helpers import wait_until

QUESTION = "How long is the warranty on an e-bike frame?"
ASSISTANT = "Frames have a long warranty, as far as I know."


def home_text(sb, user: str) -> str:
    return json.dumps(sb.home_view(user) or {}, ensure_ascii=False)


def test_an_admin_sets_a_channel_to_assistant_in_app_home_and_it_lasts(
    make_workspace, run_bot, script, scripted_engine, sample_kb
):
    channels = [*DEFAULT_SEED["channels"], {"name": "random", "members": "*", "bot": True}]
    sb = make_workspace(seed={"channels": channels})
    script.answer = lambda turns: ASSISTANT
    ada, random = sb.user_id("ada"), sb.channel_id("random")
    kb_settings = {
        **sample_kb,
        "channel_modes": "default=kb",
        "admin_users": [ada],
        "max_new_tokens": 20_000,
    }
    answerer = open_answerer(bot_settings(sb, **kb_settings).bot_config(), scripted_engine)
    bot = run_bot(sb, scripted_engine, answerer=answerer, **kb_settings)

    # Before: #random is a support desk, the answer quotes the KB.
    ts = sb.mention("grace", "random", QUESTION)
    wait_until(
        lambda: "Pebblewren E5 frame" in answer_text(sb, "random", ts), timeout=30, interval=0.05
    )
    wait_until(lambda: len(bot.services.meter.log.answers(0)) >= 1, timeout=30, interval=0.05)

    # A non-admin's Home has no modes section.
    sb.open_home("grace")
    wait_until(
        lambda: "What Deskhand's answers cost" in home_text(sb, "grace"), timeout=30, interval=0.05
    )
    assert "Answer modes" not in home_text(sb, "grace") and MODE_ACTION not in home_text(
        sb, "grace"
    )

    # The admin's Home lists DMs, other channels and #random (answered in lately).
    sb.open_home("ada")
    wait_until(lambda: "Answer modes" in home_text(sb, "ada"), timeout=30, interval=0.05)
    view = sb.home_view("ada")
    rows = {b["block_id"]: b for b in view["blocks"] if b.get("block_id", "").startswith("mode:")}
    assert {BLOCK_PREFIX + "dm", BLOCK_PREFIX + "default", BLOCK_PREFIX + random} <= set(rows)
    assert f"*<#{random}>* · *kb*" in rows[BLOCK_PREFIX + random]["text"]["text"]
    select = rows[BLOCK_PREFIX + random]["accessory"]
    assert select["type"] == "static_select" and select["initial_option"]["value"] == "kb"

    # The admin picks `assistant` for #random: stored, Home re-published with a confirmation.
    assert sb.select_in_home("ada", MODE_ACTION, "assistant", block_id=BLOCK_PREFIX + random)[
        "acked"
    ]
    wait_until(
        lambda: "now answers in *assistant* mode" in home_text(sb, "ada"), timeout=30, interval=0.05
    )
    assert f"set by <@{ada}>" in home_text(sb, "ada")

    # The next question there goes to the assistant: no KB quote, no sources.
    ts = sb.mention("grace", "random", QUESTION)
    wait_until(lambda: answer_text(sb, "random", ts) == ASSISTANT, timeout=30, interval=0.05)
    # Other channels keep their mode.
    ts = sb.mention("grace", "support", QUESTION)
    wait_until(
        lambda: "Pebblewren E5 frame" in answer_text(sb, "support", ts), timeout=30, interval=0.05
    )

    # A forged choice from a non-admin (on the admin's view) changes nothing.
    assert sb.select_in_home(
        "grace", MODE_ACTION, "kb", block_id=BLOCK_PREFIX + random, view_of="ada"
    )["acked"]
    modes = answerer.desk.modes
    assert modes.get(random) == "assistant" and modes.choices()[random].set_by == ada

    # `/ask config` tells an admin the mode and where to change it; others are told no.
    reply = sb.slash("ada", "random", "/ask", "config")["payload"]
    assert "*assistant* mode" in reply["text"] and "Home" in reply["text"]
    reply = sb.slash("grace", "random", "/ask", "config")["payload"]
    assert "Only Deskhand's admins" in reply["text"]

    # A restart: a new process's bot (new store handle, new desk) on the same database.
    embedder = answerer.desk.embedder
    bot.stop()
    settings = bot_settings(sb, **kb_settings)
    desk = SupportDesk.open(settings.kb_config(), scripted_engine, embedder=embedder)
    again = open_answerer(settings.bot_config(), scripted_engine, desk=desk)
    run_bot(sb, scripted_engine, answerer=again, **kb_settings)
    assert again.desk.modes.get(random) == "assistant"
    ts = sb.mention("grace", "random", QUESTION)
    wait_until(lambda: answer_text(sb, "random", ts) == ASSISTANT, timeout=30, interval=0.05)
