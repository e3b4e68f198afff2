"""LOG_FORMAT=json: one JSON object per log line.

Owns the JSON line's shape: time, level, logger, message; while a line is logged inside an
answer, job_id, channel, route and duration (seconds since the answer began), read from
bot.ops.log_context; exc_info as `exception`. The text it writes is the record after the
redaction filter (deskhand.logs) has run, so the redaction rules are the same as for text lines.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

from bot.ops import log_context


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        context = log_context.current()
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
