"""Contract checks in both directions, against the vendored specs.

Outbound (bot → Slack): every Web API call is recorded as a `Call` and checked: the method
exists, the token type is allowed, required arguments are present, ts/blocks/markdown_text
are well-formed, and the scopes it needs are in the manifest. Inbound and emulator honesty:
responses, events and slash-command payloads must use only keys Slack has been seen to send,
and only error codes Slack documents for the method. Problems are collected as violations.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

from slackemu import specs
from slackemu.blocks import MAX_MARKDOWN_TEXT, block_problem, chunks_problem
from slackemu.manifest import AppConfig

TS_RE = re.compile(r"^\d+\.\d{6}$")
TS_ARGS = ("ts", "thread_ts", "timestamp", "message_ts")

# Documented exceptions to the docs' `required` flags.
REQUIRED_ALTERNATIVES: dict[str, dict[str, tuple[str, ...]]] = {
    # slack_sdk's ChatStream sends only `chunks`; the API accepts either.
    "chat.appendStream": {"markdown_text": ("markdown_text", "chunks")},
}
# Methods the emulator serves; the contract accepts calls only to these.
APP_TOKEN_METHODS = frozenset({"apps.connections.open"})
# Scopes each event subscription needs.
EVENT_SCOPES = {
    "app_mention": "app_mentions:read",
    "message.channels": "channels:history",
    "message.groups": "groups:history",
    "message.im": "im:history",
    "message.mpim": "mpim:history",
}
# Keys real payloads carry that the recorded samples happen to lack (source in the comment).
EXTRA_EVENT_KEYS = {
    # bolt-python tests/scenario_tests/test_message_bot.py: a bot's own message carries app_id.
    "message": frozenset({"app_id"}),
}
# The answer to a method Slack does not have.
EMULATOR_ERRORS = frozenset({"unknown_method"})


@dataclass
class Call:
    """One Web API request as the emulator received and answered it."""

    method: str
    http_method: str
    content_type: str
    args: dict[str, Any]
    token_prefix: str
    at: float
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    injected: bool = False

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))

    @property
    def error(self) -> str | None:
        return self.response.get("error")


class ContractLog:
    """Thread-safe list of violations (bot side) and emulator problems (our side)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._violations: list[str] = []
        self._warnings: list[str] = []

    def add(self, problems: list[str]) -> None:
        with self._lock:
            self._violations += problems

    def warn(self, warnings: list[str]) -> None:
        with self._lock:
            self._warnings += warnings

    def violations(self) -> list[str]:
        with self._lock:
            return list(self._violations)

    def warnings(self) -> list[str]:
        with self._lock:
            return list(self._warnings)

    def clear(self) -> None:
        with self._lock:
            self._violations.clear()
            self._warnings.clear()


def token_kind(token: str | None) -> str:
    """`bot`, `app`, `user` or `unknown` from the token's prefix."""
    if not token:
        return "none"
    prefix = token.split("-", 1)[0]
    return {"xoxb": "bot", "xapp": "app", "xoxp": "user"}.get(prefix, "unknown")


def check_call(
    app: AppConfig,
    method: str,
    args: dict[str, Any],
    token: str | None,
    served_methods: frozenset[str],
    channel_kind: str | None,
) -> list[str]:
    """Problems with one outbound call, as human-readable violation messages."""
    where = f"{method}:"
    if method not in served_methods:
        known = "documented by Slack but " if method in specs.documented_methods() else ""
        return [f"{where} method is {known}not served by the emulator"]
    problems: list[str] = []
    kind = token_kind(token)
    allowed = "app" if method in APP_TOKEN_METHODS else "bot"
    if kind != allowed:
        problems.append(f"{where} needs a {allowed} token, got {kind}")
    for name in missing_required_args(method, args):
        problems.append(f"{where} missing required argument {name!r}")
    problems += arg_problems(method, args)
    if kind == "bot":
        acceptable = specs.bot_scopes(method, channel_kind)
        if acceptable and not set(acceptable) & app.bot_scopes:
            problems.append(
                f"{where} needs scope {' or '.join(acceptable)} "
                f"(manifest has {', '.join(sorted(app.bot_scopes))})"
            )
    return problems


def missing_required_args(method: str, args: dict[str, Any]) -> list[str]:
    alternatives = REQUIRED_ALTERNATIVES.get(method, {})
    missing = []
    for name in specs.required_args(method):
        names = alternatives.get(name, (name,))
        if not any(_present(args.get(n)) for n in names):
            missing.append(name)
    return missing


def _present(value: Any) -> bool:
    return value is not None and value != ""


def arg_problems(method: str, args: dict[str, Any]) -> list[str]:
    """Type and size problems: ts strings, blocks, markdown_text, chunks."""
    where = f"{method}:"
    problems = []
    for name in TS_ARGS:
        value = args.get(name)
        if (
            value is not None
            and value != ""
            and not (isinstance(value, str) and TS_RE.match(value))
        ):
            problems.append(
                f"{where} {name} must be a string like '1700000000.000100', got {value!r}"
            )
    if "blocks" in args and args["blocks"] is not None:
        problem = block_problem(args["blocks"])
        if problem:
            problems.append(f"{where} blocks: {problem.detail}")
    markdown_text = args.get("markdown_text")
    if markdown_text is not None:
        if len(str(markdown_text)) > MAX_MARKDOWN_TEXT:
            problems.append(
                f"{where} markdown_text is {len(str(markdown_text))} chars "
                f"(max {MAX_MARKDOWN_TEXT})"
            )
        if _present(args.get("text")) or _present(args.get("blocks")):
            problems.append(f"{where} markdown_text cannot be combined with text or blocks")
    if "chunks" in args and args["chunks"] is not None:
        problem_text = chunks_problem(args["chunks"])
        if problem_text:
            problems.append(f"{where} {problem_text}")
    return problems


# Accepted by every method: org-wide apps pass team_id everywhere (platform notes §7.9).
UNIVERSAL_ARGS = frozenset({"token", "team_id"})


def unknown_args(method: str, args: dict[str, Any]) -> list[str]:
    documented = specs.documented_args(method)
    if not documented:
        return []
    return [
        f"{method}: undocumented argument {name!r}"
        for name in args
        if name not in documented and name not in UNIVERSAL_ARGS
    ]


def manifest_problems(app: AppConfig) -> list[str]:
    """Event subscriptions and slash commands whose scopes the manifest lacks."""
    problems = [
        f"manifest: event {event!r} needs scope {scope!r}"
        for event, scope in EVENT_SCOPES.items()
        if event in app.bot_events and scope not in app.bot_scopes
    ]
    if app.slash_commands and "commands" not in app.bot_scopes:
        problems.append("manifest: slash commands need the 'commands' scope")
    return problems


# --- emulator honesty ------------------------------------------------------------------------
def response_problems(method: str, body: dict[str, Any]) -> list[str]:
    """Keys the recorded samples never show, and error codes Slack does not document."""
    problems = []
    recorded = specs.recorded_response(method)
    if recorded is not None:
        problems += [
            f"emulator: {method} response key {path!r} is not in the recorded shape"
            for path in specs.unrecorded_keys(body, recorded)
        ]
    error = body.get("error")
    if error and error not in specs.documented_errors(method) | EMULATOR_ERRORS:
        problems.append(f"emulator: {method} returned undocumented error {error!r}")
    return problems


RECORDED_EVENT_FILES = {
    ("message", None): "MessagePayload",
    ("message", "bot_message"): "MessageBotPayload",
    ("message", "message_changed"): "MessageChangedPayload",
    ("message", "message_deleted"): "MessageDeletedPayload",
    ("app_mention", None): "AppMentionPayload",
    ("app_home_opened", None): "AppHomeOpenedPayload",
}


def event_problems(payload: dict[str, Any]) -> list[str]:
    """An event_callback payload against the recorded wrapper and per-type event key sets."""
    problems = [
        f"emulator: event wrapper key {k!r} is not recorded"
        for k in payload
        if k not in specs.recorded_event_wrapper_keys()
    ]
    event = payload.get("event", {})
    name = RECORDED_EVENT_FILES.get((event.get("type"), event.get("subtype")))
    if name is None:
        return problems
    recorded = dict(specs.recorded_event(name)["event"])
    for key in EXTRA_EVENT_KEYS.get(event.get("type", ""), ()):
        recorded.setdefault(key, "")
    problems += [
        f"emulator: {name} event key {path!r} is not recorded"
        for path in specs.unrecorded_keys(event, recorded)
    ]
    return problems


def slash_command_problems(payload: dict[str, Any]) -> list[str]:
    return [
        f"emulator: slash command key {k!r} is not recorded"
        for k in payload
        if k not in specs.recorded_slash_command_keys()
    ]
