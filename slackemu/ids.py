"""Identifiers shaped like Slack's: object ids (T…, U…, C…), message `ts`, event and envelope ids.

Object ids derived from a name are deterministic, so a seed yields the same ids every run.
`TsSource` hands out strictly increasing `"%d.%06d"` timestamps from a clock.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import string
import uuid

from slackemu.clock import Clock

_ALPHABET = string.ascii_uppercase + string.digits


def stable_id(prefix: str, name: str, length: int = 10) -> str:
    """A Slack-looking id (`U0ABCDEF12`) derived from a name: same name, same id."""
    digest = hashlib.sha256(f"{prefix}:{name}".encode()).digest()
    body = base64.b32encode(digest).decode().rstrip("=")[: length - 1]
    return f"{prefix}0{body}"


def random_id(prefix: str, length: int = 10) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def event_id() -> str:
    return random_id("Ev0", 9)


def envelope_id() -> str:
    return str(uuid.uuid4())


def client_msg_id() -> str:
    return str(uuid.uuid4())


def trigger_id() -> str:
    return f"{secrets.randbelow(10**13)}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"


def view_id() -> str:
    return "V" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(10))


def block_id() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(5))


def secret_key(num_chars: int = 24) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(num_chars))


class TsSource:
    """Message timestamps: `"%d.%06d"` from the clock, strictly increasing across the workspace."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._last_us = 0

    def next(self) -> str:
        now_us = int(self._clock.now() * 1_000_000)
        self._last_us = max(now_us, self._last_us + 1)
        return format_ts(self._last_us)


def format_ts(micros: int) -> str:
    seconds, fraction = divmod(micros, 1_000_000)
    return f"{seconds}.{fraction:06d}"


def ts_key(ts: str) -> int:
    """Sort key for a `ts` string (microseconds); raises ValueError for a malformed ts."""
    seconds, _, frac = ts.partition(".")
    if not seconds.isdigit() or not (frac.isdigit() and len(frac) == 6):
        raise ValueError(f"malformed ts: {ts!r}")
    return int(seconds) * 1_000_000 + int(frac)
