"""What a Web API method handler is given and may raise: `ApiContext` (the parsed arguments,
the call record, and the emulator as an `EmulatorPort`: only what handlers use of it),
`SlackError` and `MethodSpec`. The front door (slackemu/webapi.py) builds these; the
handlers in this package use them and never the whole `Emulator`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from slackemu import specs
from slackemu.blocks import MAX_MARKDOWN_TEXT, MAX_TEXT, block_problem, chunks_problem
from slackemu.clock import Clock
from slackemu.contract import Call
from slackemu.ids import block_id
from slackemu.manifest import AppConfig
from slackemu.state import Conversation, Ephemeral, Message, Workspace


class SocketUrls(Protocol):
    def issue_url(self) -> str: ...


class EmulatorPort(Protocol):
    """The emulator as the method handlers see it: the workspace and the events they cause."""

    @property
    def app(self) -> AppConfig: ...
    @property
    def base_url(self) -> str: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def ws(self) -> Workspace: ...
    @property
    def sockets(self) -> SocketUrls: ...
    def bot_posted(self, conv: Conversation, msg: Message) -> None: ...
    def message_changed(
        self, conv: Conversation, msg: Message, previous: dict[str, Any]
    ) -> None: ...
    def message_touched(self, conv: Conversation, msg: Message) -> None: ...
    def delete_message(self, conv: Conversation, msg: Message) -> None: ...
    def ephemeral_posted(self, eph: Ephemeral) -> None: ...
    def home_published(self, user_id: str) -> None: ...
    def status_changed(self, channel_id: str, thread_ts: str) -> None: ...
    def expire_idle_stream(self, msg: Message) -> None: ...


class SlackError(Exception):
    """An API error: becomes `{"ok": false, "error": code, **extra}`."""

    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra


Handler = Callable[["ApiContext"], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class MethodSpec:
    handler: Handler
    token_kinds: frozenset[str] = frozenset({"bot"})


@dataclass
class Content:
    text: str
    blocks: list[dict[str, Any]] | None
    is_markdown: bool
    attachments: list[dict[str, Any]] | None = None


@dataclass
class ApiContext:
    """What a method handler gets: the emulator, the parsed arguments and the call record."""

    emu: EmulatorPort
    method: str
    args: dict[str, Any]
    call: Call

    @property
    def ws(self) -> Workspace:
        return self.emu.ws

    def violation(self, text: str) -> None:
        self.call.violations.append(f"{self.method}: {text}")

    # --- arguments -------------------------------------------------------------------------
    def arg(self, name: str, default: Any = None) -> Any:
        value = self.args.get(name)
        return default if value is None else value

    def str_arg(self, name: str, default: str = "") -> str:
        value = self.args.get(name)
        return default if value is None else str(value)

    def bool_arg(self, name: str, default: bool = False) -> bool:
        value = self.args.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        return str(value).lower() in ("1", "true", "yes")

    def int_arg(self, name: str, default: int) -> int:
        try:
            return int(self.args.get(name) or default)
        except (TypeError, ValueError):
            raise SlackError("invalid_arguments") from None

    def error_code(self, *candidates: str) -> str:
        """The first candidate code the method documents (the last one otherwise)."""
        documented = specs.documented_errors(self.method)
        return next((c for c in candidates if c in documented), candidates[-1])

    # --- lookups ---------------------------------------------------------------------------
    def conversation(self, arg: str = "channel") -> Conversation:
        ref = self.str_arg(arg)
        conv = self.ws.conversations.get(ref)
        if conv is None:
            raise SlackError("channel_not_found")
        return conv

    def require_bot_member(self, conv: Conversation, code: str = "not_in_channel") -> None:
        if self.ws.bot_user.id not in conv.members:
            raise SlackError(code)

    def message(
        self, conv: Conversation, arg: str = "ts", code: str = "message_not_found"
    ) -> Message:
        ts = self.str_arg(arg)
        msg = conv.messages.get(ts)
        if msg is None:
            raise SlackError(code)
        return msg

    def thread_parent_ts(self, conv: Conversation, arg: str = "thread_ts") -> str | None:
        """The thread a new message goes into; a reply's ts resolves to its parent's."""
        thread_ts = self.str_arg(arg) or None
        if thread_ts is None:
            return None
        target = conv.messages.get(thread_ts)
        if target is None:
            self.violation(f"{arg} {thread_ts} names no message in {conv.id}")
            return thread_ts
        if target.is_reply:
            self.violation(f"{arg} {thread_ts} is a reply; use its parent's ts {target.thread_ts}")
            return target.thread_ts
        return thread_ts

    # --- message content -------------------------------------------------------------------
    def blocks_arg(self, name: str = "blocks") -> list[dict[str, Any]] | None:
        blocks = self.args.get(name)
        if blocks is None or blocks == "":
            return None
        problem = block_problem(blocks)
        if problem is not None:
            if problem.kind == "format":
                raise SlackError(self.error_code("invalid_blocks_format", "invalid_blocks"))
            if problem.kind == "too_many":
                raise SlackError(self.error_code("msg_blocks_too_many", "invalid_blocks"))
            raise SlackError("invalid_blocks")
        return with_block_ids(blocks)

    def markdown_arg(self) -> str | None:
        """markdown_text, or the markdown_text chunks of `chunks` (streaming methods)."""
        markdown_text = self.args.get("markdown_text")
        chunks = self.args.get("chunks")
        if chunks is not None and chunks != "":
            if chunks_problem(chunks) is not None:
                raise SlackError("invalid_chunks")
            text = "".join(c.get("text", "") for c in chunks if c.get("type") == "markdown_text")
            markdown_text = (markdown_text or "") + text if markdown_text else text
        if markdown_text is None:
            return None
        markdown_text = str(markdown_text)
        if len(markdown_text) > MAX_MARKDOWN_TEXT:
            # NOTE: the exact code for an over-long markdown_text is not documented.
            raise SlackError("invalid_arguments")
        return markdown_text

    def content(self, *, too_long: str | None) -> Content:
        """text / blocks / markdown_text / attachments as a message body.

        too_long: the error for text over 40,000 chars, or None to truncate (chat.postMessage).
        """
        markdown_text = self.args.get("markdown_text")
        text = self.args.get("text")
        if markdown_text is not None and (_present(text) or _present(self.args.get("blocks"))):
            raise SlackError("markdown_text_conflict")
        if markdown_text is not None:
            return Content(self.markdown_arg() or "", None, True)
        blocks = self.blocks_arg()
        attachments = self.args.get("attachments") or None
        if not _present(text) and not blocks and not attachments:
            raise SlackError("no_text")
        text = "" if text is None else str(text)
        if len(text) > MAX_TEXT:
            if too_long is not None:
                raise SlackError(too_long)
            text = text[:MAX_TEXT]
        return Content(text, blocks, False, attachments if isinstance(attachments, list) else None)

    def message_view(self, conv: Conversation, msg: Message) -> dict[str, Any]:
        """The `message` object of a chat.* response, limited to the keys Slack returns there."""
        full = self.ws.message_dict(conv, msg, include_thread_summary=False)
        recorded = (specs.recorded_response(self.method) or {}).get("message", {})
        return specs.project(full, recorded)


def with_block_ids(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Blocks as stored: Slack generates a block_id for each block that has none."""
    return [b if b.get("block_id") else {**b, "block_id": block_id()} for b in blocks]


def _present(value: Any) -> bool:
    return value is not None and value != "" and value != []
