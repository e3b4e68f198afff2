"""The bot half of `deskhand up`, in its own process: `python -m deskhand.upbot`.

`deskhand up` keeps the local workspace in its own process and runs the bot here, so that a
crash of the bot (a `kill -9`, an out-of-memory kill, a dead engine) leaves the workspace, and
everything in its page, where it was; the supervisor (deskhand.supervisor) starts a new bot
and the store's recovery finishes what the dead one left.

Protocol with the supervisor: the first line on stdin is a JSON object of settings overrides
(the workspace's tokens and URL, never on the command line); stdin then stays open as a
lifeline: when it closes (the supervisor stopped, or died) the bot stops in order.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any

from deskhand.logs import setup_logging
from deskhand.settings import SettingsError, load_settings

if TYPE_CHECKING:
    from bot.answer.answerers import Answerer
    from deskhand.settings import Settings
    from engine import GenerationEngine as Engine

logger = logging.getLogger(__name__)

SETTINGS_EXIT = 2
ENGINE_DEAD_EXIT = 3


def read_overrides() -> tuple[dict[str, Any], threading.Event]:
    """The overrides line, and an event set when stdin (the lifeline) closes or on SIGTERM."""
    overrides = json.loads(sys.stdin.readline() or "{}")
    lifeline_cut = threading.Event()

    def watch() -> None:
        sys.stdin.read()
        lifeline_cut.set()

    threading.Thread(target=watch, name="lifeline", daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: lifeline_cut.set())
    return overrides, lifeline_cut


def serve(
    settings: Settings, engine: Engine, stopping: threading.Event, answerer: Answerer | None = None
) -> int:
    """Run the bot in Socket Mode until `stopping` is set, Ctrl-C, or the engine dies."""
    from bot.runtime import start_bot

    running = start_bot(settings.bot_config(), engine, mode="socket", answerer=answerer)
    code = 0
    try:
        while not stopping.wait(0.5):
            if not engine.is_alive:
                logger.critical("the engine died: exiting so `deskhand up` starts a fresh bot")
                code = ENGINE_DEAD_EXIT
                break
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()
    return code


def main() -> int:
    overrides, stopping = read_overrides()
    try:
        settings = load_settings(**overrides)
    except SettingsError as err:
        print(f"deskhand: {err}", file=sys.stderr)
        return SETTINGS_EXIT
    setup_logging(settings.log_level, message_text=settings.log_message_text)
    from bot.answer.answerers import open_answerer
    from engine import start_engine

    def say(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    try:
        say(f"Loading the model ({settings.model})…")
        engine = start_engine(settings.engine_options())
        try:
            if settings.kb_dir is not None:
                say(f"Loading the knowledge base from {settings.kb_dir}…")
            answerer = open_answerer(settings.bot_config(), engine)
            if stopping.is_set():
                return 0
            return serve(settings, engine, stopping, answerer)
        finally:
            engine.shutdown()
    except SettingsError as err:
        print(f"deskhand: {err}", file=sys.stderr)
        return SETTINGS_EXIT
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
