"""Slack's HTTP requests, checked and parsed by us before Bolt sees them.

In this order, so that a stranger learns nothing and costs one short log line:

1. the signature (`X-Slack-Signature` over `v0:{timestamp}:{body}`, the timestamp all digits
   and within five minutes): anything else is 401, logged at INFO *without* the body (Bolt's
   own check logs the whole body, message text included, and treats a timestamp like `abc` as
   a crash);
2. the body, parsed by field: JSON must be an object; a form body is split into its fields and
   only a `payload` *field* is an interactive payload (Bolt's `parse_body` looks for the
   substring "payload" anywhere, so `/ask what is the max payload…` was lost). A signed body
   that does not parse is 400 with one WARNING line, never a traceback;
3. Bolt's dispatch, given the parsed body (so Bolt never parses it again).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from slack_bolt import App, BoltRequest
from slack_bolt.adapter.wsgi.http_response import WsgiHttpResponse

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

logger = logging.getLogger(__name__)

MAX_CLOCK_SKEW_S = 300  # Slack's rule: older (or newer) timestamps are replays
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


class MalformedBody(ValueError):
    """A body that is not a Slack request (the message says why, without its contents)."""


def signature_problem(
    secret: str, body: bytes, timestamp: str | None, signature: str | None, now: float
) -> str | None:
    """Why this request is not signed by Slack with `secret`; None when it is."""
    if not timestamp or not signature:
        return "no signature"
    if not _TIMESTAMP.fullmatch(timestamp):
        return "malformed timestamp"
    if abs(now - int(timestamp)) > MAX_CLOCK_SKEW_S:
        return "stale timestamp"
    if not _SIGNATURE.fullmatch(signature):
        return "malformed signature"
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        return "invalid signature"
    return None


def parse_slack_body(text: str, content_type: str | None) -> dict[str, Any]:
    """The request as a dict: a JSON object (events), a form's fields (slash commands), or the
    JSON object in a form's `payload` field (clicks, views). Raises MalformedBody."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if not text:
        return {}
    if kind == "application/json" or (not kind and text.lstrip().startswith("{")):
        return _json_object(text, "JSON body")
    try:
        fields = dict(parse_qsl(text, keep_blank_values=True, strict_parsing=False))
    except ValueError as err:  # e.g. too many fields
        raise MalformedBody(f"form body does not parse ({err.__class__.__name__})") from None
    if "payload" in fields:
        return _json_object(fields["payload"], "payload field")
    return fields


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise MalformedBody(f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise MalformedBody(f"{what} is a JSON {type(value).__name__}, not an object")
    return value


def bolt_request(
    raw_body: str,
    body: dict[str, Any],
    *,
    query: str,
    headers: Mapping[str, str],
) -> BoltRequest:
    """An HTTP-mode BoltRequest whose body we parsed (BoltRequest parses a str body itself;
    given a dict it does not, so build it that way and restore the raw body and mode)."""
    request = BoltRequest(body=body, query=query, headers=dict(headers), mode="socket_mode")
    request.mode = "http"
    request.raw_body = raw_body
    return request


class SlackHttpEndpoint:
    """The WSGI app for one Slack path: signature, parse, Bolt."""

    def __init__(
        self,
        app: App,
        signing_secret: str | None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app = app
        self.signing_secret = signing_secret
        self.clock = clock
        self.refused = 0  # requests that failed the signature check
        self.malformed = 0  # signed requests whose body did not parse

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST":
            return respond(start_response, 405, "method not allowed")
        path = environ.get("PATH_INFO", "")
        body = _read_body(environ)
        headers = _headers(environ)
        if self.signing_secret is not None:
            problem = signature_problem(
                self.signing_secret,
                body,
                headers.get("x-slack-request-timestamp"),
                headers.get("x-slack-signature"),
                self.clock(),
            )
            if problem is not None:
                self.refused += 1
                logger.info(
                    "refused a request to %s from %s: %s (%d bytes, not logged)",
                    path,
                    environ.get("REMOTE_ADDR", "?"),
                    problem,
                    len(body),
                )
                return respond(start_response, 401, "invalid request")
        try:
            text = body.decode("utf-8")
            parsed = parse_slack_body(text, headers.get("content-type"))
        except (UnicodeDecodeError, MalformedBody) as err:
            self.malformed += 1
            reason = "body is not UTF-8" if isinstance(err, UnicodeDecodeError) else str(err)
            logger.warning("a signed request to %s was malformed: %s (400)", path, reason)
            return respond(start_response, 400, "malformed request")
        request = bolt_request(
            text, parsed, query=str(environ.get("QUERY_STRING") or ""), headers=headers
        )
        response = self.app.dispatch(request)
        wsgi = WsgiHttpResponse(
            status=response.status, headers=response.headers, body=response.body
        )
        start_response(wsgi.status, wsgi.get_headers())
        return wsgi.get_body()


def respond(start_response: StartResponse, status: int, text: str) -> list[bytes]:
    reasons = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found"}
    reasons |= {405: "Method Not Allowed", 500: "Internal Server Error"}
    body = text.encode()
    start_response(
        f"{status} {reasons.get(status, '')}".strip(),
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
    )
    return [body]


def _read_body(environ: WSGIEnvironment) -> bytes:
    """The whole body (waitress has buffered it and enforced the size cap already)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream = environ["wsgi.input"]
    return bytes(stream.read(length) if length > 0 else stream.read())


def _headers(environ: WSGIEnvironment) -> dict[str, str]:
    headers = {
        key[5:].replace("_", "-").lower(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = str(environ["CONTENT_TYPE"])
    if environ.get("CONTENT_LENGTH"):
        headers["content-length"] = str(environ["CONTENT_LENGTH"])
    return headers
