"""Logging set-up for every Deskhand process, and the filter that keeps secrets out of logs.

Owns one thing: whatever any library logs (slack_sdk DEBUG bodies, Socket Mode ticket URLs,
our own lines) passes a redaction filter on the root handlers before it is written. Slack
tokens, `ticket=` values, response_url and webhook keys (hooks.slack.com and the local
workspace's `/commands/T…/…/key`, plain, %-encoded or JSON-escaped) and the configured secrets
never reach the output; nor does message text (`"text": …` fields and `text=` form values)
unless LOG_MESSAGE_TEXT is on.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from deskhand.log_format import JsonFormatter

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
CONSOLE = "deskhand-console"  # the handler setup_logging adds (its format follows LOG_FORMAT)
REDACTED = "[redacted]"

# xoxb- (bot), xoxp- (user), xoxa-/xoxr-/xoxe- (rotating), xoxs-, xapp- (app-level) tokens.
TOKEN_RE = re.compile(r"\b(xox[abeprs]|xapp)-[A-Za-z0-9-]+")
TICKET_RE = re.compile(r"(ticket=)[^&\s\"'<>]+")
MIN_SECRET_CHARS = 6  # shorter configured "secrets" would redact ordinary words
SLASH = r"(?:/|%2[Ff]|\\/)"  # a path separator: plain, %-encoded or JSON-escaped
# hooks.slack.com/commands|actions|services/...: the whole path is a bearer capability
HOOK_RE = re.compile(r"(hooks\.slack\.com)" + SLASH + r"[^\s\"'&<>,)\]}]+", re.IGNORECASE)
# any host's response_url shape (the local workspace's): /commands/T123/456/<key>
RESPONSE_URL_RE = re.compile(
    f"({SLASH}(?:commands|actions){SLASH}T[A-Z0-9]+{SLASH}\\d+{SLASH})[A-Za-z0-9_-]+"
)
TEXT_KEYS = "text|markdown_text|fallback|pretext"  # what people and the model wrote
QUOTED = r""""(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'"""
TEXT_FIELD_RE = re.compile(rf"""(["'](?:{TEXT_KEYS})["']\s*:\s*)({QUOTED})""")
TEXT_FORM_RE = re.compile(r"(?<![\w%])(text=)([^&\s'\"]+)")


def redact(text: str, secrets: Iterable[str] = (), *, message_text: bool = True) -> str:
    """`text` with tokens, socket tickets, response_url keys and the given secrets replaced by
    [redacted]; with message_text=False, message text fields too (their length is kept)."""
    for secret in secrets:
        if secret and len(secret) >= MIN_SECRET_CHARS:
            text = text.replace(secret, REDACTED)
    text = TOKEN_RE.sub(lambda m: f"{m.group(1)}-{REDACTED}", text)
    text = TICKET_RE.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    text = HOOK_RE.sub(lambda m: f"{m.group(1)}/{REDACTED}", text)
    text = RESPONSE_URL_RE.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    if not message_text:
        text = TEXT_FIELD_RE.sub(lambda m: f"{m.group(1)}'[{len(m.group(2)) - 2} chars]'", text)
        text = TEXT_FORM_RE.sub(lambda m: f"{m.group(1)}[{len(m.group(2))} chars]", text)
    return text


class RedactingFilter(logging.Filter):
    """Formats each record once, redacts it, and hands on the redacted text (never drops)."""

    def __init__(self, secrets: Iterable[str] = (), *, message_text: bool = False) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]
        self.message_text = message_text  # log what people wrote (LOG_MESSAGE_TEXT)
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad %-format: keep the raw template rather than lose the line
            message = str(record.msg)
        record.msg = redact(message, self.secrets, message_text=self.message_text)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets, message_text=self.message_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        return True


def setup_logging(
    level: str | int = "INFO",
    secrets: Iterable[str] = (),
    *,
    message_text: bool = False,
    fmt: str = "text",
) -> RedactingFilter:
    """Configure the root logger once (idempotent) and put the redaction filter on its handlers;
    message_text=True lets message text through (for debugging a conversation); fmt="json"
    writes one JSON object per line (LOG_FORMAT, deskhand.log_format).

    Returns the filter so callers can add secrets learnt later (add_secrets).
    """
    root = logging.getLogger()
    if not root.handlers:
        console = logging.StreamHandler()
        console.set_name(CONSOLE)
        root.addHandler(console)
    for handler in root.handlers:
        if handler.get_name() == CONSOLE:
            handler.setFormatter(
                JsonFormatter() if fmt == "json" else logging.Formatter(LOG_FORMAT)
            )
    root.setLevel(level.upper() if isinstance(level, str) else level)
    found = next(
        (f for h in root.handlers for f in h.filters if isinstance(f, RedactingFilter)), None
    )
    redactor = found or RedactingFilter()
    redactor.message_text = message_text
    add_secrets(redactor, secrets)
    for handler in root.handlers:
        if redactor not in handler.filters:
            handler.addFilter(redactor)
    return redactor


def add_secrets(redactor: RedactingFilter, secrets: Iterable[str]) -> None:
    for secret in secrets:
        if secret and secret not in redactor.secrets:
            redactor.secrets.append(secret)
