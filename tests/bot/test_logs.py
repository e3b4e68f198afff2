"""Secrets never reach the logs."""

from __future__ import annotations

import io
import logging

from deskhand.logs import RedactingFilter, redact, setup_logging

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
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    root.handlers = [logging.StreamHandler(stream)]
    try:
        setup_logging("INFO", secrets=[SIGNING])
        logging.getLogger("slack_bolt.App").info("signing secret is %s, token %s", SIGNING, BOT)
    finally:
        root.handlers, level = saved
        root.setLevel(level)
    assert SIGNING not in stream.getvalue() and BOT not in stream.getvalue()
