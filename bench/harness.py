"""One bot in its own process, for the benchmarks and the crash tests.

The protocol, both sides: the child starts its engine and bot, prints one `ready <detail>`
line, and serves until its stdin closes; then it may print one last line (its final stats)
and stops in order. The parent starts it (`BotChild`), waits for that line, stops it by
closing its stdin, or `kill()`s it (SIGKILL: no goodbye, which is what a crash test wants).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

STOP_TIMEOUT_S = 30.0


class BotChild:
    """A bot process started with `command`; its stdin and stdout are the protocol."""

    def __init__(self, command: Sequence[str], *, cwd: Path, name: str = "the bot process"):
        self.name = name
        self.process = subprocess.Popen(
            list(command), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=str(cwd)
        )

    def wait_ready(self) -> str:
        """Block until the child says `ready …`; returns what follows the word (its detail).
        A child that exits or says anything else first is killed and reported."""
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("ready "):
            self.process.kill()
            raise RuntimeError(f"{self.name} did not start (exit code {self.process.wait()})")
        return line.removeprefix("ready ")

    def close_stdin(self) -> None:
        """Ask the child to stop: it finishes in order once its stdin closes."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()

    def last_line(self, prefix: str) -> str | None:
        """After `close_stdin`: the child's goodbye line that starts with `prefix`, if any."""
        if self.process.stdout is None:
            return None
        line = self.process.stdout.readline()
        return line.removeprefix(prefix) if line.startswith(prefix) else None

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Close stdin and wait; a child that does not stop in time is killed."""
        if self.process.poll() is not None:
            return
        self.close_stdin()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """SIGKILL (`kill -9`): the child gets no chance to clean up."""
        self.process.kill()

    def wait(self, timeout: float | None = None) -> int:
        return self.process.wait(timeout=timeout)

    def poll(self) -> int | None:
        return self.process.poll()


def serve_until_stdin_closes(
    ready: str, *, stop: Callable[[], None], goodbye: Callable[[], str] | None = None
) -> None:
    """The child's side: say `ready <ready>`, serve until the parent closes our stdin, say
    `goodbye()` when given, then `stop()` (also when anything here fails)."""
    try:
        sys.stdout.write(f"ready {ready}\n")
        sys.stdout.flush()
        sys.stdin.read()
        if goodbye is not None:
            sys.stdout.write(goodbye() + "\n")
            sys.stdout.flush()
    finally:
        stop()
