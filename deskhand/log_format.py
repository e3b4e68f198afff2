"""LOG_FORMAT=json: one JSON object per log line, and the answer context it carries.

Owns the JSON line's shape (time, level, logger, message, and while a line is logged inside an
answer: job_id, channel, route, duration in seconds since the answer began; exc_info as
`exception`) and the per-thread context that supplies those fields (`bind` / `unbind`, set by
bot.ops.observer around each answer). The text it writes is the record after the redaction
filter (deskhand.logs) has run, so the redaction rules are the same as for text lines.
"""

from __future__ import annotations

import contextvars
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass
class LogContext:
    job_id: str | None = None
    channel: str | None = None
    route: str | None = None
    started: float = field(default_factory=time.monotonic)


_CURRENT: contextvars.ContextVar[LogContext | None] = contextvars.ContextVar(
    "deskhand_log_context", default=None
)


def bind(job_id: str, channel: str) -> contextvars.Token[LogContext | None]:
    """Lines logged on this thread from now on belong to this answer (until `unbind`)."""
    return _CURRENT.set(LogContext(job_id=job_id, channel=channel))


def set_route(route: str) -> None:
    context = _CURRENT.get()
    if context is not None:
        context.route = route


def unbind(token: contextvars.Token[LogContext | None]) -> None:
    try:
        _CURRENT.reset(token)
    except ValueError:  # reset from another context: clear instead
        _CURRENT.set(None)


def current() -> LogContext | None:
    return _CURRENT.get()


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        context = _CURRENT.get()
        if context is not None:
            line["job_id"] = context.job_id
            line["channel"] = context.channel
            if context.route:
                line["route"] = context.route
            line["duration"] = round(time.monotonic() - context.started, 3)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, ensure_ascii=False, default=str)
