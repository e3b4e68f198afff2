"""`deskhand up`'s supervisor: the bot in a child process, restarted when it dies.

The local workspace lives in the `deskhand up` process; the bot (deskhand.upbot) runs in a
child. When the child dies unexpectedly (a `kill -9`, an out-of-memory kill, a dead engine)
the workspace stays up, its page shows the bot disconnected and says what happened, and a new
child starts after a short backoff (1 s, 2 s, 5 s, 10 s, then every 30 s while it keeps dying
young). The new bot's recovery finishes the answers the dead one left. A child that exits with
SETTINGS_EXIT (a bad setting) is not restarted: the same settings would fail again.
"""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from deskhand.upbot import SETTINGS_EXIT

logger = logging.getLogger(__name__)

BOT_COMMAND = (sys.executable, "-m", "deskhand.upbot")
RESTART_DELAYS_S = (1.0, 2.0, 5.0, 10.0, 30.0)
HEALTHY_AFTER_S = 60.0  # a child that lived this long starts the backoff over
STOP_TIMEOUT_S = 30.0
POLL_S = 0.2


class Workspace(Protocol):
    """What the supervisor needs of the local workspace (slackemu.Sandbox)."""

    def num_connections(self) -> int: ...

    def set_app_notice(self, text: str) -> None: ...


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"killed by {name}"
    return f"exit code {code}"


class BotSupervisor:
    """Start with start(); run(stopping) until stopping is set or the bot cannot start."""

    def __init__(
        self,
        workspace: Workspace,
        overrides: dict[str, Any],
        *,
        command: Sequence[str] = BOT_COMMAND,
        restart_delays_s: Sequence[float] = RESTART_DELAYS_S,
        say: Callable[[str], None] = print,
        name: str = "Deskhand",
        on_connected: Callable[[], None] | None = None,
    ) -> None:
        self.workspace = workspace
        self.overrides = overrides
        self.command = list(command)
        self.restart_delays_s = list(restart_delays_s)
        self.say = say
        self.name = name
        self.on_connected = on_connected
        self.child: subprocess.Popen[str] | None = None
        self.starts = 0
        self.restarts = 0
        self.deaths: list[int] = []  # exit codes of the children that died unexpectedly
        self._started_at = 0.0
        self._failures_in_a_row = 0
        self._announced = False  # "connected" said for the current child
        self._last_death = ""

    @property
    def pid(self) -> int | None:
        return self.child.pid if self.child is not None else None

    def start(self) -> None:
        """Start a bot child and hand it its settings over stdin (its lifeline)."""
        child = subprocess.Popen(self.command, stdin=subprocess.PIPE, text=True)
        assert child.stdin is not None
        try:
            child.stdin.write(json.dumps(self.overrides) + "\n")
            child.stdin.flush()
        except OSError:  # it died at once; run() notices
            pass
        self.child = child
        self.starts += 1
        self._started_at = time.monotonic()
        self._announced = False

    def run(self, stopping: threading.Event) -> int:
        """Watch the child until `stopping` is set (0) or it cannot start (its exit code)."""
        while not stopping.wait(POLL_S):
            child = self.child
            assert child is not None
            code = child.poll()
            if code is None:
                self._check_connected()
                continue
            if code == SETTINGS_EXIT:
                self.say(f"{self.name} cannot start with these settings (see above).")
                self.workspace.set_app_notice(f"{self.name} cannot start: see the terminal.")
                return code
            if not self._restart_after(code, stopping):
                break
        return 0

    def _check_connected(self) -> None:
        if self._announced or self.workspace.num_connections() < 1:
            return
        self._announced = True
        if self.restarts:
            stamp = time.strftime("%H:%M:%S")
            note = f"{self.name} was restarted at {stamp} after it {self._last_death}."
            self.workspace.set_app_notice(note)
            self.say(note)
            logger.warning("%s", note)
        if self.on_connected is not None:
            self.on_connected()

    def _restart_after(self, code: int, stopping: threading.Event) -> bool:
        """The child died: say so, wait the backoff, start another; False when stopping."""
        lived_s = time.monotonic() - self._started_at
        self._failures_in_a_row = 0 if lived_s >= HEALTHY_AFTER_S else self._failures_in_a_row
        delay = self.restart_delays_s[min(self._failures_in_a_row, len(self.restart_delays_s) - 1)]
        self._failures_in_a_row += 1
        self.deaths.append(code)
        self._last_death = f"stopped unexpectedly ({describe_exit(code)})"
        note = (
            f"{self.name} {self._last_death} at {time.strftime('%H:%M:%S')}: "
            f"restarting it in {delay:.0f} s…"
        )
        self.workspace.set_app_notice(note)
        self.say(note)
        logger.warning("%s", note)
        if stopping.wait(delay):
            return False
        self.restarts += 1
        self.start()
        return True

    def stop(self) -> int | None:
        """Cut the lifeline (the bot stops in order), then terminate, then kill."""
        child = self.child
        if child is None:
            return None
        if child.poll() is None and child.stdin is not None:
            with contextlib.suppress(OSError):
                child.stdin.close()
        try:
            return child.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            child.terminate()
        try:
            return child.wait(5)
        except subprocess.TimeoutExpired:
            child.kill()
            return child.wait()
