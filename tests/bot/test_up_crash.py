"""`make run`'s shape under a crash (issue 18): the local workspace in this process, the bot in
a child supervised by deskhand.supervisor exactly as `deskhand up` runs it (deskhand.upbot's
protocol; the scripted model instead of the real one). A `kill -9` of the bot mid-answer
leaves the workspace up, its page says the bot is disconnected and why, the supervisor starts
a new bot, and the question ends with exactly one complete answer in the same thread; with the
half-written reply deleted before the restart, a fresh reply, no retry loop, no traceback."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_sdk import WebClient

from deskhand.settings import Settings
from deskhand.supervisor import BotSupervisor
from deskhand.up import local_overrides
from tests.bot.helpers import answer_text, bot_replies, shown_text
from tests.bot.test_durability import LONG_ANSWER, _job_rows


class Running:
    def __init__(self, sb, tmp_path: Path, restart_delay_s: float) -> None:
        self.sb = sb
        self.log = tmp_path / "bot.log"
        self.data = tmp_path / "data"
        overrides = local_overrides(Settings(_env_file=None), sb)  # type: ignore[call-arg]
        overrides |= {
            "kb_dir": None,
            "escalation_channel": "",
            "data_dir": str(self.data),
            "replica_lease_s": 1.0,
            "max_new_tokens": 20_000,
            "stream_update_interval_s": 0.2,
            "user_max_in_flight": 0,
        }
        command = [
            sys.executable, "-m", "tests.bot.up_child", "--answer", LONG_ANSWER,
            "--step-delay", "0.03", "--log", str(self.log),
        ]  # fmt: skip
        self.said: list[str] = []
        self.supervisor = BotSupervisor(
            sb,
            overrides,
            command=command,
            restart_delays_s=(restart_delay_s,),
            say=self.said.append,
        )
        self.stopping = threading.Event()
        self.result: list[int] = []
        self.thread = threading.Thread(target=lambda: self.result.append(self._run()), daemon=True)

    def _run(self) -> int:
        return self.supervisor.run(self.stopping)

    def __enter__(self) -> Running:
        self.supervisor.start()
        self.thread.start()
        self.sb.wait_for(lambda: self.sb.num_connections() >= 1, timeout=60)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join(10)
        self.supervisor.stop()

    def log_text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""


@pytest.fixture
def up(make_workspace, tmp_path) -> Iterator:
    started: list[Running] = []

    def start(restart_delay_s: float = 0.5) -> Running:
        running = Running(make_workspace(), tmp_path, restart_delay_s).__enter__()
        started.append(running)
        return running

    yield start
    for running in started:
        running.__exit__()


def _kill_mid_answer(run: Running) -> str:
    sb = run.sb
    ts = sb.mention("ada", "support", "tell me the whole story")
    sb.wait_for(lambda: "word5" in answer_text(sb, "support", ts) or None, timeout=30)
    first_pid = run.supervisor.pid
    assert first_pid is not None
    os.kill(first_pid, signal.SIGKILL)
    sb.wait_for(lambda: sb.num_connections() == 0 or None, timeout=10)
    assert "THE END" not in answer_text(sb, "support", ts)
    return ts


def test_kill_9_of_the_bot_leaves_the_workspace_up_and_a_new_bot_finishes_the_answer(up):
    run = up(restart_delay_s=1.5)
    sb = run.sb
    ts = _kill_mid_answer(run)
    # The workspace is still here, and its page says the bot is gone and why.
    sb.wait_for(lambda: "killed by SIGKILL" in sb.app_notice or None, timeout=10)
    with urllib.request.urlopen(sb.url + "/?channel=support", timeout=5) as response:
        page = response.read().decode()
    assert "Deskhand disconnected" in page and 'class="bot-off"' in page
    assert "killed by SIGKILL" in page and "restarting it" in page
    assert "word5" in answer_text(sb, "support", ts)  # nothing in the page was lost
    # A new bot comes back and finishes the same answer, in place.
    sb.wait_for(lambda: sb.num_connections() >= 1, timeout=60)
    sb.wait_for(lambda: "THE END" in answer_text(sb, "support", ts) or None, timeout=60)
    sb.wait_for_reply("support", ts, timeout=30)
    replies = bot_replies(sb, "support", ts)
    assert [shown_text(m) for m in replies] == [LONG_ANSWER]
    assert run.supervisor.restarts == 1 and run.supervisor.deaths == [-signal.SIGKILL]
    sb.wait_for(lambda: "was restarted" in sb.app_notice or None, timeout=10)
    assert any("was restarted" in line for line in run.said)
    [job] = _job_rows(f"sqlite:///{run.data / 'deskhand.sqlite'}")
    assert (job["state"], job["attempts"]) == ("answered", 2)


def test_kill_9_then_the_reply_deleted_gets_one_fresh_reply_and_no_retry_loop(up):
    run = up(restart_delay_s=3.0)
    sb = run.sb
    ts = _kill_mid_answer(run)
    [half] = bot_replies(sb, "support", ts)
    client = WebClient(token=sb.bot_token, base_url=sb.api_url)
    client.chat_delete(channel=sb.channel_id("support"), ts=half["ts"])
    assert bot_replies(sb, "support", ts) == []
    sb.wait_for(lambda: sb.num_connections() >= 1, timeout=60)
    sb.wait_for(lambda: "THE END" in answer_text(sb, "support", ts) or None, timeout=60)
    reply = sb.wait_for_reply("support", ts, timeout=30)
    time.sleep(3.0)  # several recovery sweeps (lease 1 s): room for a retry loop
    assert [shown_text(m) for m in bot_replies(sb, "support", ts)] == [LONG_ANSWER]
    assert reply["ts"] != half["ts"]
    [job] = _job_rows(f"sqlite:///{run.data / 'deskhand.sqlite'}")
    assert (job["state"], job["attempts"], job["reply_ts"]) == ("answered", 2, reply["ts"])
    log = run.log_text()
    assert "Traceback" not in log and "ERROR" not in log, log
    assert log.count("resuming the answer") == 1, log
    assert "a fresh one" in log
    assert run.supervisor.restarts == 1
