"""Who may press which button: Stop is the asker's (or an admin's); anyone may ask a human, and
a hand-off is not repeated after the bot restarts."""

from __future__ import annotations

import time
from typing import Any

from slackemu import Sandbox
from tests.bot.helpers import (
    bot_messages,
    find_element,
    wait_for_bot_message,
    wait_for_stop_button,
)
from tests.bot.test_knowledge import FakeDesk, kb_answerer


def click_stop(sb: Sandbox, user: str, message: dict[str, Any]) -> None:
    button = find_element(message, "deskhand_stop")
    assert button is not None
    assert sb.click(user, "support", message["ts"], "deskhand_stop", value=button["value"])["acked"]


def test_only_the_asker_can_stop_an_answer(workspace, run_bot, endless_script, scripted_engine):
    run_bot(workspace, scripted_engine, stream_mode="update", stream_update_interval_s=0.3)
    ts = workspace.mention("ada", "support", "tell me everything")
    message = wait_for_stop_button(workspace, "support", ts, "word")

    click_stop(workspace, "grace", message)
    told = workspace.wait_for(lambda: workspace.ephemerals("grace", "support") or None, timeout=10)
    assert told[-1]["text"] == f"Only <@{workspace.user_id('ada')}> can stop this answer."
    assert scripted_engine.stats().running == 1  # still writing

    click_stop(workspace, "ada", message)
    workspace.wait_for(lambda: scripted_engine.stats().running == 0 or None, timeout=5)
    reply = workspace.wait_for_reply("support", ts, timeout=20)
    assert "Stopped." in str(reply["blocks"])
    assert workspace.ephemerals("ada", "support") == []


def test_an_admin_can_stop_anyones_answer(workspace, run_bot, endless_script, scripted_engine):
    run_bot(
        workspace,
        scripted_engine,
        stream_mode="update",
        stream_update_interval_s=0.3,
        admin_users=[workspace.user_id("linus")],
    )
    ts = workspace.mention("ada", "support", "tell me everything")
    click_stop(workspace, "linus", wait_for_stop_button(workspace, "support", ts, "word"))
    workspace.wait_for(lambda: scripted_engine.stats().running == 0 or None, timeout=5)
    assert "Stopped." in str(workspace.wait_for_reply("support", ts, timeout=20)["blocks"])
    assert workspace.ephemerals("linus", "support") == []


def test_a_stop_that_reaches_another_replica_stops_the_answer(
    workspace, run_bot, endless_script, scripted_engine, tmp_path
):
    """Two replicas on one store: the one writing the answer no longer receives anything,
    so the click can only reach the other, which passes it on through the store."""
    shared = {"data_dir": tmp_path / "shared", "stream_mode": "update"}
    writer = run_bot(workspace, scripted_engine, **shared)
    ts = workspace.mention("ada", "support", "tell me everything")
    message = wait_for_stop_button(workspace, "support", ts, "word")
    assert writer.socket_mode is not None
    writer.socket_mode.close()  # it keeps writing the answer; events go elsewhere now
    clicked = run_bot(workspace, scripted_engine, **shared)
    workspace.wait_for(lambda: workspace.num_connections() == 1 or None, timeout=10)

    click_stop(workspace, "ada", message)
    workspace.wait_for(lambda: scripted_engine.stats().running == 0 or None, timeout=10)
    assert "Stopped." in str(workspace.wait_for_reply("support", ts, timeout=20)["blocks"])
    job_id = find_element(message, "deskhand_stop")["value"]
    row = clicked.services.jobs.get(job_id)
    assert row is not None and row.owner == writer.services.jobs.owner
    assert row.stop_requested_by == workspace.user_id("ada")
    assert workspace.ephemerals("ada", "support") == []


def test_only_the_asker_can_stop_an_answer_written_on_another_replica(
    workspace, run_bot, endless_script, scripted_engine, tmp_path
):
    shared = {"data_dir": tmp_path / "shared", "stream_mode": "update"}
    writer = run_bot(workspace, scripted_engine, **shared)
    ts = workspace.mention("ada", "support", "tell me everything")
    message = wait_for_stop_button(workspace, "support", ts, "word")
    assert writer.socket_mode is not None
    writer.socket_mode.close()
    run_bot(workspace, scripted_engine, **shared)
    workspace.wait_for(lambda: workspace.num_connections() == 1 or None, timeout=10)

    click_stop(workspace, "grace", message)
    told = workspace.wait_for(lambda: workspace.ephemerals("grace", "support") or None, timeout=10)
    assert told[-1]["text"] == f"Only <@{workspace.user_id('ada')}> can stop this answer."
    time.sleep(1.5)  # longer than the relay's poll: the answer is still being written
    assert scripted_engine.stats().running == 1
    job_id = find_element(message, "deskhand_stop")["value"]
    row = writer.services.jobs.get(job_id)
    assert row is not None and row.stop_requested_by is None


def test_a_hand_off_is_not_repeated_after_a_restart(workspace, run_bot, scripted_engine):
    options: dict[str, Any] = {
        "escalation_channel": workspace.channel_id("general"),
        "handoff_mention": "<!subteam^S0SUPPORT|@support>",
    }
    first = run_bot(workspace, scripted_engine, answerer=kb_answerer(FakeDesk()), **options)
    ts = workspace.mention("ada", "support", "what is the meaning of life?")
    reply = workspace.wait_for_reply("support", ts, timeout=20)
    button = find_element(reply, "deskhand_handoff")
    assert button is not None
    # Someone other than the asker may call for a human.
    workspace.click("grace", "support", reply["ts"], "deskhand_handoff", value=button["value"])

    wait_for_bot_message(workspace, "general")
    workspace.wait_for(
        lambda: any("I've asked" in m["text"] for m in workspace.thread("support", ts)) or None,
        timeout=10,
    )
    first.stop()
    run_bot(workspace, scripted_engine, answerer=kb_answerer(FakeDesk()), **options)
    workspace.click("ada", "support", reply["ts"], "deskhand_handoff", value=button["value"])
    told = workspace.wait_for(lambda: workspace.ephemerals("ada", "support") or None, timeout=10)
    assert told[-1]["text"] == "This question has already been passed to a human."
    assert len(bot_messages(workspace, "general")) == 1
