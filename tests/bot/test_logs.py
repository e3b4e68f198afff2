"""Secrets never reach the logs."""

from __future__ import annotations

import io
import logging
import time

from deskhand.logs import REDACTED, RedactingFilter, redact, setup_logging
from tests.bot.helpers import root_log, wait_for_bot_message

BOT = "xoxb-1000000001-2000000002-SecretBotToken"
APP = "xapp-1-A0123-3000000003-SecretAppToken"
USER = "xoxp-111-222-SecretUserToken"
SIGNING = "8f742231b10e8888abcd99yyyzzz85a5"
TICKET_URL = "wss://wss-primary.slack.com/link/?ticket=1234-5678-abcd&app_id=A0123"


def test_redact_tokens_tickets_and_secrets() -> None:
    text = f"{BOT} {APP} {USER} {SIGNING} {TICKET_URL}"
    out = redact(text, [SIGNING])
    for secret in (BOT, APP, USER, SIGNING, "1234-5678-abcd", "SecretBotToken"):
        assert secret not in out
    assert "xoxb-[redacted]" in out and "ticket=[redacted]&app_id=A0123" in out


def test_the_filter_redacts_every_logger_args_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter([SIGNING]))
    logger = logging.getLogger("tests.redaction.slack_sdk")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        logger.debug(
            "Sending a request - url: %s, headers: %s",
            TICKET_URL,
            {"Authorization": f"Bearer {BOT}"},
        )
        logger.info("app token %s and secret %s", APP, SIGNING)
        try:
            raise ValueError(f"bad token {USER}")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    written = stream.getvalue()
    for secret in (BOT, APP, USER, SIGNING, "1234-5678-abcd"):
        assert secret not in written
    assert "failed" in written and "ValueError: bad token xoxp-[redacted]" in written


def test_setup_logging_puts_the_filter_on_the_root_handlers() -> None:
    stream = io.StringIO()
    with root_log(logging.StreamHandler(stream)):
        setup_logging("INFO", secrets=[SIGNING])
        logging.getLogger("slack_bolt.App").info("signing secret is %s, token %s", SIGNING, BOT)
    assert SIGNING not in stream.getvalue() and BOT not in stream.getvalue()


HOOK = "https://hooks.slack.com/commands/T0123ABC/1234567890123/Zx9SecretHookKey"
LOCAL_HOOK = "http://127.0.0.1:8765/commands/T0SANDBOX/1000000000003/k3yK3yK3ySecret"


def test_response_urls_are_redacted_plain_encoded_and_escaped() -> None:
    lines = [
        f"response_url={HOOK}",
        "body: team_id=T1&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT0123ABC"
        "%2F1234567890123%2FZx9SecretHookKey&trigger_id=1",
        '{"response_url":"https:\\/\\/hooks.slack.com\\/commands\\/T0123ABC\\/1\\/Zx9SecretHookKey"}',
        f"{{'response_url': '{LOCAL_HOOK}'}}",
        "webhook https://hooks.slack.com/services/T000/B000/XXXXSecretHookKey done",
    ]
    for line in lines:
        out = redact(line)
        assert "SecretHookKey" not in out and "k3yK3yK3ySecret" not in out, out
        assert REDACTED in out
    assert redact(lines[-1]).endswith(" done")


def test_message_text_is_left_out_unless_asked_for() -> None:
    line = (
        "on_message invoked: {'type': 'app_mention', 'text': 'my salary is 91k, don\\'t tell', "
        '"blocks": [{"type": "text", "text": "my salary is 91k"}]} form: token=x&text=my+salary&a=1'
    )
    out = redact(line, message_text=False)
    assert "salary" not in out
    assert "'type': 'app_mention'" in out and "&a=1" in out and "chars]" in out
    assert "salary" in redact(line, message_text=True)


def test_a_debug_slash_command_logs_no_response_url_and_no_text(
    workspace, run_bot, script, scripted_engine
) -> None:
    stream = io.StringIO()
    with root_log(logging.StreamHandler(stream)):
        setup_logging("DEBUG")
        script.answer = lambda turns: "Logged carefully."
        run_bot(workspace, scripted_engine)
        assert workspace.slash("ada", "support", "/ask", "where is the zebra-umbrella form?")[
            "acked"
        ]
        wait_for_bot_message(workspace, "support")
        time.sleep(0.5)  # let the last DEBUG lines through
    written = stream.getvalue()
    response_url = workspace.deliveries("slash_commands")[0].payload["response_url"]
    key = response_url.rsplit("/", 1)[1]
    assert "/commands/" in written  # the DEBUG lines about the command were written...
    assert key not in written  # ...without the response_url's key
    assert "zebra-umbrella" not in written and "Logged carefully" not in written
