"""Bot test fixtures: the local Slack emulator with our manifest (fake clock, contract violations
asserted empty at teardown), engines over the tiny model (random or scripted), and a factory
that starts the real bot against a sandbox over Socket Mode or HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.runtime import RunningBot, start_bot
from deskhand.settings import Settings
from engine import Engine
from engine.testing import make_tiny_engine
from slackemu import FakeClock, Sandbox
from tests.bot.scripted import Script, ScriptedRunner, make_scripted_engine, new_script
from tests.helpers import REPO

MANIFEST = REPO / "manifest.json"


@pytest.fixture(scope="session")
def tiny_engine() -> Iterator[Engine]:
    """The tiny random model: real generation, gibberish text."""
    engine = make_tiny_engine(max_running=4, max_queue=16)
    yield engine
    engine.shutdown()


@pytest.fixture(scope="session")
def scripted_engine() -> Iterator[Engine]:
    engine = make_scripted_engine()
    yield engine
    engine.shutdown()


@pytest.fixture
def script(scripted_engine: Engine) -> Script:
    """A fresh script for the shared scripted engine."""
    return new_script(scripted_engine)


@pytest.fixture
def make_workspace() -> Iterator[Callable[..., Sandbox]]:
    started: list[Sandbox] = []

    def make(**kwargs: Any) -> Sandbox:
        kwargs.setdefault("clock", FakeClock())
        kwargs.setdefault("manifest", MANIFEST)
        sandbox = Sandbox.start(**kwargs)
        started.append(sandbox)
        return sandbox

    yield make
    problems = [p for sb in started for p in sb.violations()]
    for sb in started:
        sb.stop()
    assert problems == [], "Slack contract violations:\n  " + "\n  ".join(problems)


@pytest.fixture
def workspace(make_workspace: Callable[..., Sandbox]) -> Sandbox:
    return make_workspace()


def bot_settings(sb: Sandbox, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "slack_bot_token": sb.bot_token,
        "slack_app_token": sb.app_token,
        "slack_signing_secret": sb.signing_secret,
        "slack_api_url": sb.api_url,
        "max_new_tokens": 12,
        "kb_dir": None,
        "escalation_channel": "",
        "handoff_mention": "",
        "stream_update_interval_s": 0.2,
        "port": 0,
        "http_host": "127.0.0.1",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def sample_kb(tmp_path: Path) -> dict[str, Any]:
    """Settings for the sample knowledge base, its index and feedback database in tmp_path."""
    return {
        "kb_dir": REPO / "sample-kb" / "kb",
        "kb_index": tmp_path / "kb.sqlite",
        "kb_feedback_db": tmp_path / "feedback.sqlite",
    }


@pytest.fixture
def endless_script(script: Script) -> Script:
    """The script, set to a 2,000-word answer at 5 ms a step (~50 s if nobody stops it)."""
    script.answer = lambda turns: "word " * 2000
    script.step_delay_s = 0.005
    return script


@pytest.fixture
def bot_store_url(tmp_path: Path) -> str:
    """The URL of the SQLite store a bot from run_bot opens by default (its data_dir, made)."""
    data = tmp_path / "data"
    data.mkdir()
    return f"sqlite:///{data / 'deskhand.sqlite'}"


@pytest.fixture
def run_bot(tmp_path: Path) -> Iterator[Callable[..., RunningBot]]:
    """start(sandbox, engine, mode="socket", answerer=None, **settings) -> a running bot
    (its store: SQLite in tmp_path unless DATABASE_URL/data_dir are given)."""
    running: list[RunningBot] = []

    def start(
        sb: Sandbox, engine: Engine, *, mode: str = "socket", answerer: Any = None, **overrides: Any
    ) -> RunningBot:
        overrides.setdefault("data_dir", tmp_path / "data")
        if isinstance(engine.runner, ScriptedRunner):
            overrides.setdefault("max_new_tokens", 20_000)
        config = bot_settings(sb, **overrides).bot_config()
        bot = start_bot(config, engine, mode=mode, answerer=answerer)
        running.append(bot)
        if mode == "socket":
            sb.wait_for(lambda: sb.num_connections() >= 1, timeout=10)
        return bot

    yield start
    for bot in running:
        bot.stop()
