"""Fixtures for the local Slack workspace's own tests: the `sandbox` and `make_sandbox`
fixtures from slackemu's pytest plugin (FakeClock, violations asserted empty at teardown)."""

from slackemu.pytest_plugin import make_sandbox, sandbox

__all__ = ["make_sandbox", "sandbox"]
