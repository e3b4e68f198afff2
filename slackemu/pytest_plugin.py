"""pytest fixtures for any test suite that talks to the local Slack workspace.

Enable with `pytest_plugins = ["slackemu.pytest_plugin"]` in a top-level conftest.py (or import
the fixtures into one). Each sandbox runs on a FakeClock, so acks never time out and streams
never expire unless the test calls `sandbox.advance(...)`; its contract violations must be
empty at teardown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from slackemu.clock import FakeClock
from slackemu.sandbox import Sandbox


def _assert_clean(sandboxes: list[Sandbox]) -> None:
    problems = [p for sb in sandboxes for p in sb.violations()]
    assert not problems, "Slack contract violations:\n  " + "\n  ".join(problems)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A fresh workspace (slackemu's default manifest and seed) on a FakeClock."""
    sb = Sandbox.start(clock=FakeClock())
    try:
        yield sb
    finally:
        sb.stop()
    _assert_clean([sb])


@pytest.fixture
def make_sandbox() -> Iterator[Callable[..., Sandbox]]:
    """Start sandboxes with your own options (manifest=, seed=, request_url=, ...); each runs on
    a FakeClock unless `clock=` says otherwise, and is stopped and checked at teardown."""
    started: list[Sandbox] = []

    def make(**kwargs: Any) -> Sandbox:
        kwargs.setdefault("clock", FakeClock())
        sb = Sandbox.start(**kwargs)
        started.append(sb)
        return sb

    try:
        yield make
    finally:
        for sb in started:
            sb.stop()
    _assert_clean(started)
