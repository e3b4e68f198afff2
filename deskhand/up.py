"""`deskhand up` (what `make run` runs): the whole thing in one command.

With Slack tokens configured it runs the bot against real Slack. Without them it starts a local
Slack workspace on 127.0.0.1 (the emulator) in this process, and the bot (the engine with the
default model, the sample knowledge base) in a child process supervised from here: a crash of
the bot leaves the workspace and its page as they were, and a new bot is started and finishes
the answers the dead one left. Says where to click, and stops it all cleanly on Ctrl-C.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from deskhand.logs import setup_logging
from deskhand.supervisor import BotSupervisor

if TYPE_CHECKING:
    from deskhand.settings import Settings

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]
MANIFEST = REPO / "manifest.json"
SAMPLE_KB = REPO / "sample-kb" / "kb"


def run_up(settings: Settings) -> int:
    """Run until Ctrl-C; returns the exit code."""
    if has_slack_credentials(settings):
        from deskhand.run import run_bot

        say("Slack tokens found: connecting to your Slack workspace.")
        return run_bot(settings)
    return run_local(settings)


def has_slack_credentials(settings: Settings) -> bool:
    values = (settings.slack_bot_token, settings.slack_app_token, settings.slack_signing_secret)
    return any(v is not None and v.get_secret_value().strip() for v in values)


def run_local(settings: Settings) -> int:
    """The local workspace, the engine and the bot, until Ctrl-C."""
    setup_logging(
        settings.log_level, message_text=settings.log_message_text, fmt=settings.log_format
    )
    from slackemu import Sandbox

    say(
        "No Slack tokens configured: starting a local Slack workspace (nothing leaves "
        "this machine)."
    )
    from slackemu.control_api import exposure_warning

    warning = exposure_warning(settings.sandbox_host)
    if warning:
        logger.warning("%s", warning)
        say(f"\n*** WARNING: {warning} ***\n")
    try:
        sandbox = Sandbox.start(
            manifest=MANIFEST if MANIFEST.is_file() else None,
            host=settings.sandbox_host,
            port=settings.sandbox_port,
        )
    except OSError as err:
        say(
            f"Cannot listen on {settings.sandbox_host}:{settings.sandbox_port} ({err}). "
            "Set SANDBOX_PORT to a free port."
        )
        return 1
    overrides = local_overrides(settings, sandbox)
    stopping = threading.Event()
    shown_where: list[bool] = []

    def connected() -> None:
        if shown_where:
            return
        shown_where.append(True)
        say("")
        say(
            f"Open {sandbox.url} — mention @Deskhand in #support "
            "(or send it a direct message, or type /ask)."
        )
        say(f"The workspace keeps its messages in this process's memory: {WHERE_MESSAGES}")
        say("Press Ctrl-C to stop.")

    supervisor = BotSupervisor(sandbox, overrides, say=say, on_connected=connected)
    previous = signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        say(f"The local workspace is up at {sandbox.url}; starting Deskhand in its own process…")
        supervisor.start()
        return supervisor.run(stopping)
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        say("Stopping…")
        supervisor.stop()
        sandbox.stop()


WHERE_MESSAGES = (
    "they last until `deskhand up` stops (a restart of the bot keeps them; the bot's own "
    "jobs and feedback are in DATA_DIR)."
)


def local_overrides(settings: Settings, sandbox: Any) -> dict[str, Any]:
    """The settings the bot child needs on top of the environment's: the local workspace's
    tokens and URL, the sample knowledge base and its #general for hand-offs (JSON-able)."""
    update: dict[str, Any] = {
        "slack_bot_token": sandbox.bot_token,
        "slack_app_token": sandbox.app_token,
        "slack_signing_secret": None,
        "slack_api_url": sandbox.api_url,
    }
    if settings.kb_dir is None and SAMPLE_KB.is_dir():
        update["kb_dir"] = str(SAMPLE_KB)
    if not settings.escalation_channel:
        update["escalation_channel"] = sandbox.channel_id("general")
    return update


def local_settings(settings: Settings, sandbox: Any) -> Settings:
    """The settings with the local workspace's tokens and URL (and its channels for hand-off)."""
    update = local_overrides(settings, sandbox)
    for key in ("slack_bot_token", "slack_app_token"):
        update[key] = SecretStr(update[key])
    if "kb_dir" in update:
        update["kb_dir"] = Path(update["kb_dir"])
    return settings.model_copy(update=update)


def open_local_answerer(settings: Settings, engine: Any) -> Any:
    from bot.answer.answerers import open_answerer

    if settings.kb_dir is not None:
        say(f"Loading the knowledge base from {settings.kb_dir}…")
    return open_answerer(settings.bot_config(), engine)


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
