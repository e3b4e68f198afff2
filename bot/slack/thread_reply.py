"""Writing one answer into a Slack conversation while the model produces it.

Shows the assistant status (else a placeholder), then grows the answer in place: Slack's native
stream via slack_sdk's `chat_stream`, falling back to throttled chat.update edits with a Stop
button when Slack refuses or expires the stream, continuing a long answer in new messages.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web.chat_stream import ChatStream

from bot.errors import queued
from bot.slack.blocks import (
    Block,
    answer_metadata,
    footer_blocks,
    markdown_block,
    mrkdwn_escape,
    notice_metadata,
    stop_actions,
)
from bot.slack.formatting import (
    MAX_PART_CHARS,
    MarkdownSanitizer,
    choose_cut,
    close_fence,
    open_fence,
    plain_preview,
    reopen_fence,
)
from bot.slack.pacing import ChannelPacer
from bot.types import FinalReply

logger = logging.getLogger(__name__)

THINKING = "is thinking…"
LOADING_MESSAGES = ["Reading the conversation…", "Thinking it through…", "Writing the answer…"]
PLACEHOLDER = "_Thinking…_"
FENCE_ROOM = 8  # room kept in a part for closing a code block cut in two


@dataclass(frozen=True, slots=True)
class ReplyTarget:
    channel_id: str
    thread_ts: str | None  # None: a top-level reply (a DM)
    user_id: str  # who asked: the stream's recipient
    team_id: str
    source_ts: str  # the question's ts (message metadata)
    job_id: str | None = None  # the Stop button's value; None: no Stop button


@dataclass(slots=True)
class _Part:
    """One Slack message of the answer."""

    index: int
    ts: str | None = None
    stream: ChatStream | None = None  # set while it is a live native stream
    sent: int = 0  # chars of this part's text Slack already has (native streams)
    started_at: float = 0.0
    last_write: float = float("-inf")


class ThreadReply:
    """One answer in a thread (or at the top level of a DM), in one or more messages."""

    def __init__(
        self,
        client: WebClient,
        target: ReplyTarget,
        pacer: ChannelPacer,
        *,
        prefer_native: bool = True,
        use_status: bool = True,
        update_interval_s: float = 1.0,
        stream_max_age_s: float = 240.0,
        part_chars: int = MAX_PART_CHARS,
        clock: Callable[[], float] = time.monotonic,
        on_user_stop: Callable[[], None] | None = None,
    ) -> None:
        self.client = client
        self.target = target
        self.pacer = pacer
        # Which writer grows the answer: Slack's native stream, or chat.update edits. It only
        # ever falls back, native → update, in one place (`_fall_back`), never the other way.
        self.native = prefer_native and target.thread_ts is not None
        self.use_status = use_status and target.thread_ts is not None
        self.update_interval_s = update_interval_s
        self.stream_max_age_s = stream_max_age_s
        self.part_chars = part_chars
        self.clock = clock
        self.on_user_stop = on_user_stop  # the job's one stop flag
        self.stopped_by_user = False  # Slack's own Stop: the stream takes no more writes
        self.raw_text = ""  # everything the model wrote so far
        self._sanitizer = MarkdownSanitizer()
        self._out = ""  # the sanitised text, append-only
        self._start = 0  # where the current part begins in _out
        self._prefix = ""  # text the current part starts with (a reopened code block)
        self._parts = [_Part(0)]
        self._cut = False  # the final answer was cut short by the token limit

    @property
    def message_ts(self) -> list[str]:
        return [p.ts for p in self._parts if p.ts]

    # --- what the pipeline calls ----------------------------------------------------------
    def adopt(self, reply_ts: list[str]) -> None:
        """Take over an answer a previous process began (a resumed job): its first message is
        rewritten in place by chat.update, never a second message; later parts are deleted."""
        channel = self.target.channel_id
        for ts in reply_ts:
            # A stream left open by a dead process takes no chat.update until it is stopped;
            # usually it is not streaming any more, and Slack says so.
            with contextlib.suppress(SlackApiError):
                self.client.chat_stopStream(channel=channel, ts=ts)
        for ts in reply_ts[1:]:
            try:
                self.client.chat_delete(channel=channel, ts=ts)
            except SlackApiError as err:
                logger.info("could not delete part %s of a resumed answer: %s", ts, _code(err))
        self._fall_back()
        self.use_status = False
        self._parts[0].ts = reply_ts[0]
        try:
            self._write_update(self._parts[0], PLACEHOLDER)
        except SlackApiError as err:
            if _code(err) not in ("message_not_found", "cant_update_message"):
                raise
            # Deleted since (or a local workspace restarted empty): answer in a fresh reply.
            logger.info(
                "the answer begun in %s is gone (%s): a fresh reply", reply_ts[0], _code(err)
            )
            self._parts[0].ts = None
            self._write_update(self._parts[0], PLACEHOLDER)

    def hand_over(self, note: str) -> None:
        """This process is stopping mid-answer: end any live stream and say the answer will be
        finished; the message stays marked as still being written, for the successor."""
        part = self._parts[-1]
        if part.ts is None and part.stream is None:
            return
        if part.stream is not None:
            metadata = answer_metadata(self.target.source_ts, part.index, streaming=True)
            self._stop_native(part, self._part_text(), None, metadata)
        if self.stopped_by_user:
            return
        self._write_update(part, f"{self._part_text()}\n\n{note}".strip())

    def show_working(self, queue_position: int | None = None) -> None:
        """Status ("is thinking…", "is waiting in line (#2)…") or a placeholder message."""
        if self._out or self.message_ts:
            if self._parts[0].ts and not self._out and queue_position:
                self._write_update(self._parts[0], f"_{queued(queue_position).capitalize()}_")
            return
        if self.use_status:
            status = f"is {queued(queue_position)}" if queue_position else THINKING
            assert self.target.thread_ts is not None  # use_status needs a thread
            try:
                self.client.assistant_threads_setStatus(
                    channel_id=self.target.channel_id,
                    thread_ts=self.target.thread_ts,
                    status=status,
                    loading_messages=None if queue_position else LOADING_MESSAGES,
                )
                return
            except SlackApiError as err:
                logger.info("no assistant status here (%s): using a placeholder", _code(err))
                self.use_status = False
        self._fall_back()  # the placeholder message itself becomes the answer
        text = f"_{queued(queue_position).capitalize()}_" if queue_position else PLACEHOLDER
        self._write_update(self._parts[0], text)

    def append(self, delta: str) -> None:
        self.raw_text += delta
        self._out += self._sanitizer.feed(delta)
        self._flush(force=False)

    def finish(
        self, final: FinalReply, *, feedback: bool, handoff: bool, share_id: str | None = None
    ) -> None:
        """Write the final answer: the rest of the text, then the footer on the last part."""
        if final.text.startswith(self.raw_text):
            rest = final.text[len(self.raw_text) :]
        else:  # the answerer rewrote what was streamed; what is shown stays
            logger.warning("final text differs from the streamed text; keeping the streamed")
            rest = ""
        self.raw_text += rest
        self._out += self._sanitizer.feed(rest) + self._sanitizer.finish()
        self._cut = final.cut_short
        if self.stopped_by_user:
            return
        while len(self._part_text()) > self.part_chars:
            self._seal()
        part, text = self._parts[-1], self._part_text()
        footer = footer_blocks(
            final,
            feedback=feedback,
            handoff=handoff,
            source_ts=self.target.source_ts,
            share_id=share_id,
        )
        metadata = answer_metadata(
            self.target.source_ts, part.index, streaming=False, cut=self._cut
        )
        if part.stream is not None:
            self._stop_native(part, text, footer, metadata)
        else:
            self._write_update(part, text, streaming=False, footer=footer)

    def notice(self, text: str, kind: str) -> None:
        """A short line instead of an answer (busy, error); kept after any partial answer."""
        if self.stopped_by_user:
            return
        if self.raw_text.strip():
            self.finish(FinalReply(text=self.raw_text, notes=[text]), feedback=False, handoff=False)
            return
        part = self._parts[0]
        metadata = notice_metadata(self.target.source_ts, kind)
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn_escape(text)}}]
        if part.ts:
            self.client.chat_update(
                channel=self.target.channel_id,
                ts=part.ts,
                text=text,
                blocks=blocks,
                metadata=metadata,
            )
            return
        self.pacer.wait(self.target.channel_id)
        response = self.client.chat_postMessage(
            channel=self.target.channel_id,
            thread_ts=self.target.thread_ts,
            text=text,
            blocks=blocks,
            metadata=metadata,
            unfurl_links=False,
            unfurl_media=False,
        )
        part.ts = response.get("ts")

    # --- growing the text -----------------------------------------------------------------
    def _part_text(self) -> str:
        return self._prefix + self._out[self._start :]

    def _flush(self, *, force: bool) -> None:
        if self.stopped_by_user:
            return
        now = self.clock()
        part = self._parts[-1]
        if not force and now - part.last_write < self.update_interval_s:
            return
        while len(self._part_text()) > self.part_chars:
            self._seal()
        part, text = self._parts[-1], self._part_text()
        if not text.strip():
            return
        if part.stream is not None and now - part.started_at > self.stream_max_age_s:
            self._retire_stream(part, text)
        if (self.native and part.ts is None) or part.stream is not None:
            self._write_native(part, text)
        else:
            self._write_update(part, text)
        part.last_write = now

    def _seal(self) -> None:
        """End the current message at a clean cut and start the next one."""
        part, text = self._parts[-1], self._part_text()
        floor = max(part.sent, len(self._prefix) + 1)
        cut = choose_cut(text, self.part_chars - FENCE_ROOM, floor)
        head = text[:cut]
        fence = open_fence(head)
        head += close_fence(head, fence)
        metadata = answer_metadata(self.target.source_ts, part.index, streaming=False)
        if part.stream is not None or (self.native and part.ts is None):
            self._stop_native(part, head, None, metadata)
        else:
            self._write_update(part, head, streaming=False)
        self._start += cut - len(self._prefix)
        self._prefix = reopen_fence(fence)
        self._parts.append(_Part(part.index + 1))

    # --- native streams ---------------------------------------------------------------------
    def _open_stream(self, part: _Part) -> ChatStream:
        self.pacer.wait(self.target.channel_id)
        part.stream = self.client.chat_stream(
            channel=self.target.channel_id,
            thread_ts=self.target.thread_ts or "",
            recipient_team_id=self.target.team_id,
            recipient_user_id=self.target.user_id,
            buffer_size=1,
        )  # we decide when to flush
        part.started_at = self.clock()
        return part.stream

    def _write_native(self, part: _Part, text: str) -> None:
        stream = part.stream or self._open_stream(part)
        new = text[part.sent :]
        if not new:
            return
        try:
            stream.append(markdown_text=new)
        except SlackApiError as err:
            self._stream_failed(part, text, err)
            return
        part.ts = part.ts or stream.ts
        part.sent = len(text)

    def _stop_native(
        self, part: _Part, text: str, blocks: list[Block] | None, metadata: dict[str, Any]
    ) -> None:
        if part.stream is None and part.ts is None and not blocks:
            part.stream = self._open_stream(part)
        if part.stream is None:
            self._write_update(part, text, streaming=False, footer=blocks)
            return
        stream = part.stream
        try:
            stream.stop(
                markdown_text=text[part.sent :] or None, blocks=blocks or None, metadata=metadata
            )
            part.ts = part.ts or stream.ts
            part.sent = len(text)
            part.stream = None
        except SlackApiError as err:
            part.ts = part.ts or stream.ts
            if _code(err) == "stopped_by_user":
                self._user_stopped(part)
                return
            logger.warning("chat.stopStream failed (%s): finishing with chat.update", _code(err))
            part.stream = None
            self._fall_back()
            self._write_update(part, text, streaming=False, footer=blocks)

    def _stream_failed(self, part: _Part, text: str, err: SlackApiError) -> None:
        code = _code(err)
        assert part.stream is not None
        part.ts = part.ts or part.stream.ts
        part.stream = None
        self._fall_back()
        if code == "stopped_by_user":
            self._user_stopped(part)
            return
        logger.warning("native streaming failed (%s): falling back to chat.update", code)
        if part.ts:
            # Still a live stream on Slack's side (a 429 past the retries, a timeout): it takes
            # no chat.update (streaming_state_conflict) until it is stopped.
            with contextlib.suppress(SlackApiError):
                self.client.chat_stopStream(channel=self.target.channel_id, ts=part.ts)
        self._write_update(part, text)

    def _retire_stream(self, part: _Part, text: str) -> None:
        """Stop a stream before Slack expires it; the same message goes on by chat.update."""
        metadata = answer_metadata(self.target.source_ts, part.index, streaming=True)
        self._stop_native(part, text, None, metadata)
        self._fall_back()

    def _user_stopped(self, part: _Part) -> None:
        logger.info("the user stopped the stream %s", part.ts)
        self.stopped_by_user = True
        if self.on_user_stop is not None:
            self.on_user_stop()

    def _fall_back(self) -> None:
        """From now on this answer is written by chat.update (a placeholder or draft is already
        on screen, Slack refused or expired the stream, or a resumed answer is rewritten)."""
        self.native = False

    # --- chat.update ----------------------------------------------------------------------
    def _write_update(
        self, part: _Part, text: str, *, streaming: bool = True, footer: list[Block] | None = None
    ) -> None:
        blocks = [markdown_block(text), *(footer or [])]
        if streaming and self.target.job_id:
            blocks.append(stop_actions(self.target.job_id))
        metadata = answer_metadata(
            self.target.source_ts, part.index, streaming=streaming, cut=self._cut and not streaming
        )
        if part.ts is None:
            self.pacer.wait(self.target.channel_id)
            response = self.client.chat_postMessage(
                channel=self.target.channel_id,
                thread_ts=self.target.thread_ts,
                text=plain_preview(text),
                blocks=blocks,
                metadata=metadata,
                unfurl_links=False,
                unfurl_media=False,
            )
            part.ts = response.get("ts")
        else:
            self.client.chat_update(
                channel=self.target.channel_id,
                ts=part.ts,
                text=plain_preview(text),
                blocks=blocks,
                metadata=metadata,
            )
        part.sent = len(text)


def _code(err: SlackApiError) -> str:
    return str(err.response.get("error") or err.response.status_code)
