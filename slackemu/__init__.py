"""slackemu: a local, stateful, strict stand-in for Slack (Web API, Events API over Socket Mode or
HTTP, slash commands, interactivity, streaming) with a browser UI, for tests and the demo.

Start one with `Sandbox.start()`; see `slackemu.sandbox` for the Python API.
"""

from slackemu.clock import FakeClock, RealClock
from slackemu.emulator import Emulator, SandboxError
from slackemu.sandbox import Sandbox

__all__ = ["Emulator", "FakeClock", "RealClock", "Sandbox", "SandboxError"]
