"""Which answer a log line belongs to: a per-thread context the answer path sets.

Owns the context only (job id, channel, route, when the answer began), set by
bot.ops.observer around each answer with `bind` / `set_route` / `unbind`; a formatter
(deskhand.log_format's JSON lines) reads it with `current()`.
"""

from __future__ import annotations

import contextvars
import time
from dataclasses import dataclass, field


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
