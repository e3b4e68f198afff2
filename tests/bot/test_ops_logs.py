"""LOG_FORMAT=json: one JSON object a line (time, level, logger, message; job id, channel,
route and duration inside an answer), redacted as text lines are."""

from __future__ import annotations

import io
import json
import logging

from deskhand.log_format import JsonFormatter
from deskhand.logs import RedactingFilter
from tests.bot.helpers import root_log
from tests.helpers import run_python


def test_answer_lines_carry_job_channel_route_and_duration(
    workspace, run_bot, script, scripted_engine
):
    script.answer = lambda turns: "Hold the button for ten seconds."
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter([workspace.bot_token]))
    # ours alone: another handler's redactor (an earlier test's setup_logging) would redact
    # the record first, by pattern, before this one sees the configured secret
    with root_log(handler):
        logging.getLogger().setLevel(logging.INFO)
        bot = run_bot(workspace, scripted_engine)
        ts = workspace.mention("ada", "support", "how do I reset the Pebblewren quietly?")
        workspace.wait_for_reply("support", ts, timeout=20)
        workspace.wait_for(lambda: bot.services.pool.active == 0 or None, timeout=20)
        logging.getLogger("tests.ops").warning("token %s", workspace.bot_token)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines and all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    finished = [
        line
        for line in lines
        if line["logger"] == "bot.answer.pipeline" and ": stop," in line["message"]
    ]
    assert len(finished) == 1
    line = finished[0]
    channel = workspace.channel_id("support")
    assert (line["channel"], line["route"], line["level"]) == (channel, "assistant", "INFO")
    assert len(line["job_id"]) >= 8 and line["duration"] > 0
    assert line["time"].endswith("+00:00")
    outside = [line for line in lines if line["logger"] == "tests.ops"]
    assert outside[0]["message"] == "token [redacted]"  # the configured secret, redacted
    assert "job_id" not in outside[0]
    assert "Pebblewren" not in out.getvalue()  # message text stays out unless LOG_MESSAGE_TEXT


def test_setup_logging_json_writes_one_object_per_line():
    code = (
        "import logging\n"
        "from deskhand.logs import setup_logging\n"
        "setup_logging('INFO', secrets=['s3cr3t-value'], fmt='json')\n"
        "log = logging.getLogger('demo')\n"
        'log.info(\'hello s3cr3t-value xapp-1-A-2 {"text": "private words"}\')\n'
        "try:\n"
        "    raise ValueError('boom xoxb-1-2-3')\n"
        "except ValueError:\n"
        "    log.exception('failed')\n"
    )
    done = run_python(code, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert [line["level"] for line in lines] == ["INFO", "ERROR"]
    first, second = lines
    assert first["logger"] == "demo"
    assert "s3cr3t-value" not in first["message"] and "xapp-[redacted]" in first["message"]
    assert "private words" not in first["message"]
    assert "ValueError" in second["exception"] and "xoxb-1-2-3" not in second["exception"]
