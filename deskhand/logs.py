"""Logging set-up for every Deskhand process, and the filter that keeps secrets out of logs.

Owns one thing: whatever any library logs (slack_sdk DEBUG bodies, Socket Mode ticket URLs,
our own lines) passes a redaction filter on the root handlers before it is written. Slack
tokens, `ticket=` values and the configured secrets never reach the output.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REDACTED = "[redacted]"

# xoxb- (bot), xoxp- (user), xoxa-/xoxr-/xoxe- (rotating), xoxs-, xapp- (app-level) tokens.
TOKEN_RE = re.compile(r"\b(xox[abeprs]|xapp)-[A-Za-z0-9-]+")
TICKET_RE = re.compile(r"(ticket=)[^&\s\"'<>]+")
MIN_SECRET_CHARS = 6  # shorter configured "secrets" would redact ordinary words


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with tokens, socket tickets and the given secrets replaced by [redacted]."""
    for secret in secrets:
        if secret and len(secret) >= MIN_SECRET_CHARS:
            text = text.replace(secret, REDACTED)
    text = TOKEN_RE.sub(lambda m: f"{m.group(1)}-{REDACTED}", text)
    return TICKET_RE.sub(lambda m: f"{m.group(1)}{REDACTED}", text)


class RedactingFilter(logging.Filter):
    """Formats each record once, redacts it, and hands on the redacted text (never drops)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad %-format: keep the raw template rather than lose the line
            message = str(record.msg)
        record.msg = redact(message, self.secrets)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        return True


def setup_logging(level: str | int = "INFO", secrets: Iterable[str] = ()) -> RedactingFilter:
    """Configure the root logger once (idempotent) and put the redaction filter on its handlers.

    Returns the filter so callers can add secrets learnt later (add_secrets).
    """
    root = logging.getLogger()
    if not root.handlers:
        console = logging.StreamHandler()
        console.setFormatter(logging.Formatter(LOG_FORMAT))
        root.addHandler(console)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    found = next(
        (f for h in root.handlers for f in h.filters if isinstance(f, RedactingFilter)), None
    )
    redactor = found or RedactingFilter()
    add_secrets(redactor, secrets)
    for handler in root.handlers:
        if redactor not in handler.filters:
            handler.addFilter(redactor)
    return redactor


def add_secrets(redactor: RedactingFilter, secrets: Iterable[str]) -> None:
    for secret in secrets:
        if secret and secret not in redactor.secrets:
            redactor.secrets.append(secret)
