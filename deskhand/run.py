"""`deskhand run`: the bot alone against Slack (or SLACK_API_URL), until Ctrl-C or SIGTERM.

The composition root for production: logging with secret redaction, the engine with the
configured model, the bot in Socket Mode or HTTP mode, and a clean stop.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.runtime import check_slack, resolve_mode, secret, start_bot
from deskhand.logs import setup_logging

if TYPE_CHECKING:
    from deskhand.settings import Settings

logger = logging.getLogger(__name__)

ENGINE_DEAD_EXIT = 3


def run_bot(settings: Settings, mode: str = "auto") -> int:
    """Run until interrupted; returns the exit code."""
    setup_logging(
        settings.log_level,
        secrets=configured_secrets(settings),
        message_text=settings.log_message_text,
    )
    config = settings.bot_config()
    resolve_mode(config, mode)  # fail on missing or refused credentials before loading
    check_slack(config)  # the model, which takes a while
    from engine import start_engine

    engine = start_engine(settings.engine_options())
    try:
        running = start_bot(config, engine, mode=mode)
    except BaseException:
        engine.shutdown()
        raise
    try:
        stopped_by = wait_for_signal(engine_alive=lambda: engine.is_alive)
    finally:
        running.stop()
        engine.shutdown()
    return ENGINE_DEAD_EXIT if stopped_by == "engine dead" else 0


def configured_secrets(settings: Settings) -> list[str]:
    values = (settings.slack_bot_token, settings.slack_app_token, settings.slack_signing_secret)
    return [s for s in (secret(v) for v in values) if s]


def wait_for_signal(engine_alive: Callable[[], bool] = lambda: True) -> str:
    """Block until Ctrl-C, SIGTERM, or the engine dying; says which.

    A dead engine (a device failure) has already failed its requests with an apology; the
    process exits non-zero so its supervisor (Procfile host, systemd) starts a fresh one."""
    stopping = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    reason = "signal"
    try:
        while not stopping.wait(0.5):
            if not engine_alive():
                reason = "engine dead"
                logger.critical("the engine died: exiting so a supervisor can restart Deskhand")
                break
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    logger.info("stopping")
    return reason
