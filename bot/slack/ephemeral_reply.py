"""Private answers to slash commands, written through the command's response_url.

A response_url takes 5 posts in 30 minutes and ephemerals cannot be edited with chat.update,
so an `EphemeralReply` spends them carefully: two progress updates at most, then the answer with
"Share to channel" and 👍/👎. `ShareBox` keeps the answer for the Share button (a cachetools
TTL cache: half an hour, a thousand answers at most).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from cachetools import TTLCache
from slack_sdk.webhook import WebhookClient

from bot.errors import queued
from bot.slack.blocks import Block, footer_blocks, markdown_block
from bot.slack.formatting import (
    MarkdownSanitizer,
    choose_cut,
    close_fence,
    open_fence,
    plain_preview,
    reopen_fence,
    sanitize,
)
from bot.types import FinalReply

logger = logging.getLogger(__name__)

RESPONSE_URL_USES = 5
MAX_PROGRESS_UPDATES = 2
EPHEMERAL_PART_CHARS = 11_000  # one markdown block holds 12,000
SHARE_TTL_S = 30 * 60


@dataclass(frozen=True, slots=True)
class SharedAnswer:
    question: str
    user_id: str
    channel_id: str
    final: FinalReply


class ShareBox:
    """Answers shown privately, kept for half an hour so "Share to channel" can post them."""

    def __init__(
        self,
        ttl_s: float = SHARE_TTL_S,
        max_items: int = 1_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.Lock()
        self._items: TTLCache[str, SharedAnswer] = TTLCache(max_items, ttl_s, timer=clock)

    def put(self, answer: SharedAnswer) -> str:
        share_id = secrets.token_hex(8)
        with self._lock:
            self._items[share_id] = answer
        return share_id

    def take(self, share_id: str) -> SharedAnswer | None:
        """The answer, once: a second click (or one after half an hour) gets None."""
        with self._lock:
            return self._items.pop(share_id, None)


class EphemeralReply:
    """One private answer through a response_url (same calls as ThreadReply)."""

    stopped_by_user = False

    def __init__(
        self,
        webhook: WebhookClient,
        *,
        question: str,
        has_message: bool,
        progress_interval_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.webhook = webhook
        self.heading = f"*You asked:* {question.strip()}\n\n"
        self.has_message = has_message  # the ack already showed an ephemeral to replace
        self.progress_interval_s = progress_interval_s
        self.clock = clock
        self.uses_left = RESPONSE_URL_USES
        self.raw_text = ""
        self._sanitizer = MarkdownSanitizer()
        self._out = ""
        self._progress_updates = 0
        self._last_progress = clock()

    def show_working(self, queue_position: int | None = None) -> None:
        if queue_position and self._may_show_progress():
            self._progress(f"_{queued(queue_position).capitalize()}_")

    def append(self, delta: str) -> None:
        self.raw_text += delta
        self._out += self._sanitizer.feed(delta)
        now = self.clock()
        if self._may_show_progress() and now - self._last_progress >= self.progress_interval_s:
            self._progress(self._out + " …")

    def show_draft(self, text: str) -> None:
        """Provisional text (a progress update, when one is left); finish() replaces it."""
        now = self.clock()
        if self._may_show_progress() and now - self._last_progress >= self.progress_interval_s:
            shown = sanitize(text).strip()
            if shown:
                self._progress(shown + " …")

    def finish(
        self, final: FinalReply, *, feedback: bool, handoff: bool, share_id: str | None = None
    ) -> None:
        rest = final.text[len(self.raw_text) :] if final.text.startswith(self.raw_text) else ""
        self._out += self._sanitizer.feed(rest) + self._sanitizer.finish()
        parts = split_parts(self._out, EPHEMERAL_PART_CHARS - len(self.heading))
        if len(parts) > self.uses_left:
            kept = parts[: self.uses_left]
            kept[-1] += "\n\n_(The rest did not fit in a private reply: share it to read it all.)_"
            parts = kept
        footer = footer_blocks(final, feedback=feedback, handoff=False, share_id=share_id)
        for index, part in enumerate(parts):
            text = self.heading + part if index == 0 else part
            last = index == len(parts) - 1
            self._send(text, [markdown_block(text), *(footer if last else [])], replace=index == 0)

    def notice(self, text: str, kind: str) -> None:
        self._send(text, [markdown_block(text)], replace=True)

    def _may_show_progress(self) -> bool:
        # Keep three posts for the answer itself.
        return self._progress_updates < MAX_PROGRESS_UPDATES and self.uses_left > 3

    def _progress(self, body: str) -> None:
        self._progress_updates += 1
        self._last_progress = self.clock()
        text = self.heading + body
        self._send(text, [markdown_block(text)], replace=True)

    def _send(self, text: str, blocks: list[Block], *, replace: bool) -> None:
        if self.uses_left <= 0:
            logger.warning("response_url used up; dropping a private reply")
            return
        self.uses_left -= 1
        response = self.webhook.send(
            text=plain_preview(text),
            blocks=blocks,
            response_type="ephemeral",
            replace_original=True if replace and self.has_message else None,
        )
        if response.status_code != 200:
            logger.warning(
                "response_url post failed: %s %s", response.status_code, response.body[:100]
            )
        self.has_message = True


def split_parts(text: str, limit: int) -> list[str]:
    """`text` cut into messages of at most `limit` chars at clean points, code blocks closed
    at each cut and reopened in the next part."""
    parts: list[str] = []
    prefix = ""
    while len(prefix + text) > limit:
        whole = prefix + text
        cut = choose_cut(whole, limit - 8, len(prefix) + 1)
        head = whole[:cut]
        fence = open_fence(head)
        parts.append(head + close_fence(head, fence))
        text = whole[cut:]
        prefix = reopen_fence(fence)
    parts.append(prefix + text)
    return parts
