"""The emulator: one workspace, one app, and everything that happens between them.

Composes state, Web API methods, event generation, delivery (Socket Mode or HTTP), faults and
contract checks. Human actions (post, mention, slash, click, edit, delete) enter here and
become state changes plus the events Slack would send; the bot's API calls report their
changes here too. Runs on one asyncio loop; every method must be called on that loop.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slackemu import contract, events, ids
from slackemu.clock import Clock, RealClock
from slackemu.contract import Call, ContractLog
from slackemu.delivery import SLACK_RETRY_DELAYS_S, Dispatcher, InteractionResult
from slackemu.faults import FaultBook
from slackemu.http_delivery import HttpDelivery
from slackemu.interactions import (
    apply_response,
    block_actions_payload,
    find_clickable,
    find_select,
    new_response_url,
    slash_command_payload,
    view_select_payload,
)
from slackemu.manifest import AppConfig, app_config_from_manifest, load_manifest
from slackemu.richtext import encode_typed_text, rich_text_blocks
from slackemu.seed import build_workspace, credentials_from_seed, load_seed
from slackemu.socket_mode import SocketHub
from slackemu.state import Conversation, Ephemeral, Message, ResponseUrl, User

logger = logging.getLogger(__name__)

ASSISTANT_STATUS_TIMEOUT_S = 120.0
DEFAULT_STREAM_TTL_S = 300.0


@dataclass(frozen=True)
class Change:
    """A note for observers (UI, waiting tests) that something visible changed."""

    kind: str  # message | deleted | ephemeral | ephemeral_removed | status | home | reset
    channel_id: str = ""
    ts: str = ""
    thread_ts: str | None = None
    user_id: str | None = None


class SandboxError(ValueError):
    """A human-side action that Slack's UI would not allow (unknown user, channel, command...)."""


class Emulator:
    def __init__(
        self,
        *,
        manifest: str | Path | dict[str, Any] | None = None,
        seed: str | Path | dict[str, Any] | None = None,
        clock: Clock | None = None,
        request_url: str | None = None,
        stream_ttl_s: float = DEFAULT_STREAM_TTL_S,
        ack_timeout_s: float = 3.0,
        retry_delays_s: tuple[float, ...] = SLACK_RETRY_DELAYS_S,
    ) -> None:
        from slackemu.methods import METHODS

        self.clock: Clock = clock or RealClock()
        self.manifest = load_manifest(manifest)
        app = app_config_from_manifest(self.manifest)
        self.app: AppConfig = app.with_request_url(request_url) if request_url else app
        self.seed = load_seed(seed)
        self.stream_ttl_s = stream_ttl_s
        self.app_notice = ""  # shown in the page's banner (set by `deskhand up`)
        self.methods = METHODS
        self.faults = FaultBook()
        self.contract = ContractLog()
        self.sockets = SocketHub(self)
        self.base_url = ""  # set once the server listens
        self.calls: list[Call] = []
        self.response_url_posts: list[dict[str, Any]] = []
        self._observers: list[Callable[[Change], None]] = []
        self._watchers: list[Callable[[], None]] = []
        self._build_state()
        self.http = HttpDelivery(self.creds.signing_secret, self.clock)
        self.dispatcher = Dispatcher(self, ack_timeout_s, retry_delays_s)

    def _build_state(self) -> None:
        self.ws = build_workspace(self.seed, self.app, self.clock)
        self.creds = credentials_from_seed(self.seed, self.ws.bot_user.app_id or "")
        self.contract.add(contract.manifest_problems(self.app))

    async def reset(self) -> None:
        """Back to the seed: messages, calls, deliveries, faults and violations cleared."""
        await self.dispatcher.cancel_all()
        self.dispatcher.deliveries.clear()
        self.sockets.acks.clear()
        self.calls.clear()
        self.response_url_posts.clear()
        self.faults.clear()
        self.contract.clear()
        self._build_state()
        self._changed(Change("reset"))

    async def close(self) -> None:
        await self.dispatcher.cancel_all()
        await self.sockets.close_all()
        await self.http.close()

    # --- observers ---------------------------------------------------------------------------
    def observe(self, observer: Callable[[Change], None]) -> Callable[[], None]:
        """Call `observer` on every visible change; returns a function that stops it."""
        self._observers.append(observer)
        return lambda: self._observers.remove(observer)

    def watch(self, watcher: Callable[[], None]) -> None:
        """Call `watcher` (from the loop thread) whenever anything at all changes."""
        self._watchers.append(watcher)

    def notify_watchers(self) -> None:
        for watcher in self._watchers:
            watcher()

    def _changed(self, change: Change) -> None:
        for observer in list(self._observers):
            try:
                observer(change)
            except Exception:
                logger.exception("observer failed")
        self.notify_watchers()

    # --- Web API calls -----------------------------------------------------------------------
    def record_call(self, call: Call) -> None:
        self.calls.append(call)

    def finish_call(self, call: Call) -> None:
        self.contract.add(call.violations)
        self.notify_watchers()

    def record_response_url_post(
        self, rurl: ResponseUrl, body: dict[str, Any], error: str | None
    ) -> None:
        self.response_url_posts.append(
            {"response_url_id": rurl.id, "body": body, "error": error, "at": self.clock.now()}
        )
        self.notify_watchers()

    # --- changes made by the bot (reported by API methods) -----------------------------------
    def bot_posted(self, conv: Conversation, msg: Message) -> None:
        if msg.thread_ts:
            thread = self.ws.assistant_threads.get((conv.id, msg.thread_ts))
            if thread is not None and thread.status:
                thread.status = ""  # posting a reply clears the "is thinking…" status
                self._changed(Change("status", conv.id, msg.thread_ts, msg.thread_ts))
        self._publish(events.events_for_new_message(self.app, self.ws, conv, msg))
        self._changed(Change("message", conv.id, msg.ts, msg.thread_ts))

    def message_changed(self, conv: Conversation, msg: Message, previous: dict[str, Any]) -> None:
        msg.touch()
        event = events.message_changed_event(self.ws, conv, msg, previous)
        self._publish(events.events_for_change(self.app, self.ws, conv, event))
        self._changed(Change("message", conv.id, msg.ts, msg.thread_ts))

    def message_touched(self, conv: Conversation, msg: Message) -> None:
        msg.touch()
        self._changed(Change("message", conv.id, msg.ts, msg.thread_ts))

    def delete_message(self, conv: Conversation, msg: Message) -> None:
        """Remove a message; a thread parent with replies stays as a tombstone, as in Slack."""
        previous = self.ws.message_dict(conv, msg)
        if not msg.is_reply and conv.replies(msg.ts):
            msg.subtype, msg.text, msg.blocks, msg.is_markdown = (
                "tombstone",
                "This message was deleted.",
                None,
                False,
            )
            msg.touch()
        else:
            del conv.messages[msg.ts]
        event = events.message_deleted_event(self.ws, conv, previous)
        self._publish(events.events_for_change(self.app, self.ws, conv, event))
        self._changed(Change("deleted", conv.id, msg.ts, msg.thread_ts))

    def ephemeral_posted(self, eph: Ephemeral) -> None:
        self._changed(Change("ephemeral", eph.channel_id, eph.ts, eph.thread_ts, eph.user_id))

    def ephemeral_removed(self, eph: Ephemeral) -> None:
        self._changed(
            Change("ephemeral_removed", eph.channel_id, eph.ts, eph.thread_ts, eph.user_id)
        )

    def home_published(self, user_id: str) -> None:
        """views.publish stored a new Home view for `user_id`."""
        self._changed(Change("home", self.ws.dm_with(user_id).id, user_id=user_id))

    def status_changed(self, channel_id: str, thread_ts: str) -> None:
        self._changed(Change("status", channel_id, thread_ts, thread_ts))

    def expire_idle_stream(self, msg: Message) -> None:
        """A stream idle for longer than the TTL stops accepting appends."""
        stream = msg.stream
        if (
            stream is not None
            and stream.status == "streaming"
            and (self.clock.now() - stream.last_append_at > self.stream_ttl_s)
        ):
            stream.status = "expired"
            self.message_touched(self.ws.conversations[msg.channel_id], msg)

    def expire_stream(self, channel_ref: str, ts: str) -> None:
        """Fault injection: the stream at `ts` expires now, whatever the TTL."""
        conv = self._conversation(channel_ref)
        msg = conv.messages.get(ts)
        if msg is None or msg.stream is None:
            raise SandboxError(f"no stream at {ts} in {conv.id}")
        msg.stream.status = "expired"
        self.message_touched(conv, msg)

    def status_of(self, channel_id: str, thread_ts: str) -> str:
        thread = self.ws.assistant_threads.get((channel_id, thread_ts))
        if thread is None or not thread.status:
            return ""
        if self.clock.now() - thread.status_set_at > ASSISTANT_STATUS_TIMEOUT_S:
            return ""
        return thread.status

    def _publish(self, inner_events: list[dict[str, Any]]) -> None:
        for event in inner_events:
            payload = events.event_callback(
                self.ws, self.creds.verification_token, event, self.clock.now()
            )
            self.contract.add(contract.event_problems(payload))
            self.dispatcher.send_event(payload)

    async def verify_request_url(self) -> bool:
        """The url_verification handshake Slack runs when a Request URL is saved."""
        url = self.app.event_request_url
        if not url:
            raise SandboxError("no request URL configured")
        challenge = ids.secret_key(48)
        body = json.dumps(
            {
                "token": self.creds.verification_token,
                "challenge": challenge,
                "type": "url_verification",
            }
        ).encode()
        result = await self.http.post(url, body, "application/json")
        if result.failure is not None:
            return False
        try:
            answer = json.loads(result.body)
        except json.JSONDecodeError:
            answer = {"challenge": result.body.strip()}
        return isinstance(answer, dict) and answer.get("challenge") == challenge

    def connections_changed(self) -> None:
        self._changed(Change("connection"))

    def set_app_notice(self, text: str) -> None:
        """A line about the app shown in every open page (e.g. "restarted after a crash")."""
        self.app_notice = text
        self._changed(Change("connection"))

    # --- human actions ------------------------------------------------------------------------
    def _user(self, ref: str) -> User:
        try:
            return self.ws.user(ref)
        except KeyError:
            raise SandboxError(f"no such user: {ref!r}") from None

    def _conversation(self, ref: str) -> Conversation:
        try:
            return self.ws.conversation(ref)
        except KeyError:
            raise SandboxError(f"no such channel: {ref!r}") from None

    def _conversation_for(self, user: User, ref: str) -> Conversation:
        """A conversation the user can act in: a channel they belong to, or their bot DM."""
        if ref in ("dm", "@" + self.ws.bot_user.name) or ref == self.ws.bot_user.id:
            return self.ws.dm_with(user.id)
        conv = self._conversation(ref)
        if conv.kind == "im" and conv.im_user != user.id:
            raise SandboxError(f"{user.name} is not part of DM {conv.id}")
        if user.id not in conv.members:
            raise SandboxError(f"{user.name} is not a member of #{conv.name}")
        return conv

    async def human_post(
        self,
        user_ref: str,
        channel_ref: str,
        text: str,
        thread_ts: str | None = None,
        *,
        typed: bool = True,
    ) -> Message:
        """A person (or another app's bot) posts; Slack's events follow."""
        user = self._user(user_ref)
        conv = self._conversation_for(user, channel_ref)
        if thread_ts is not None:
            parent = conv.messages.get(thread_ts)
            if parent is None:
                raise SandboxError(f"no message {thread_ts} in {conv.id}")
            thread_ts = parent.thread_ts if parent.is_reply else parent.ts
        wire_text = encode_typed_text(text) if typed else text
        if user.is_bot:
            msg = self.ws.add_message(conv, user, wire_text, thread_ts=thread_ts)
        else:
            msg = self.ws.add_message(
                conv,
                user,
                wire_text,
                thread_ts=thread_ts,
                client_msg_id=ids.client_msg_id(),
                blocks=rich_text_blocks(wire_text),
            )
        self._publish(events.events_for_new_message(self.app, self.ws, conv, msg))
        self._changed(Change("message", conv.id, msg.ts, msg.thread_ts))
        return msg

    async def human_edit(self, user_ref: str, channel_ref: str, ts: str, text: str) -> Message:
        user = self._user(user_ref)
        conv = self._conversation_for(user, channel_ref)
        msg = conv.messages.get(ts)
        if msg is None or msg.user != user.id:
            raise SandboxError(f"{user.name} has no message {ts} in {conv.id}")
        previous = self.ws.message_dict(conv, msg)
        msg.text = encode_typed_text(text)
        if msg.client_msg_id:
            msg.blocks = rich_text_blocks(msg.text)
        msg.edited = {"user": user.id, "ts": self.ws.ts_source.next()}
        self.message_changed(conv, msg, previous)
        return msg

    async def human_delete(self, user_ref: str, channel_ref: str, ts: str) -> None:
        user = self._user(user_ref)
        conv = self._conversation_for(user, channel_ref)
        msg = conv.messages.get(ts)
        if msg is None or msg.user != user.id:
            raise SandboxError(f"{user.name} has no message {ts} in {conv.id}")
        self.delete_message(conv, msg)

    async def open_app_home(self, user_ref: str, tab: str = "home") -> dict[str, Any] | None:
        """A person opens the app's Home tab (or Messages tab); `app_home_opened` follows.
        Returns the Home view published for them so far (None: none yet)."""
        user = self._user(user_ref)
        if user.is_bot:
            raise SandboxError(f"{user.name} is a bot; only people open App Home")
        if tab == "home" and not self.app.home_tab_enabled:
            raise SandboxError("the Home tab is not enabled in the app manifest")
        conv = self.ws.dm_with(user.id)
        event = events.app_home_opened_event(self.ws, self.app, user.id, conv.id, tab)
        if event is not None:
            self._publish([event])
        return self.ws.home_views.get(user.id)

    async def stop_stream_by_user(self, channel_ref: str, ts: str) -> None:
        """The user pressed Stop on a streaming reply: further appends get `stopped_by_user`."""
        conv = self._conversation(channel_ref)
        msg = conv.messages.get(ts)
        if msg is None or not msg.is_streaming or msg.stream is None:
            raise SandboxError(f"no streaming message {ts} in {conv.id}")
        msg.stream.status = "stopped_by_user"
        self.message_touched(conv, msg)

    async def slash(
        self, user_ref: str, channel_ref: str, command: str, text: str = ""
    ) -> InteractionResult:
        """A user runs a slash command; returns what they saw right away."""
        user = self._user(user_ref)
        conv = self._conversation_for(user, channel_ref)
        if command not in self.app.slash_commands:
            raise SandboxError(f"{command} is not a valid command")
        rurl = new_response_url(self, "commands", user, conv)
        payload = slash_command_payload(self, user, conv, command, text, rurl)
        self.contract.add(contract.slash_command_problems(payload))
        result = await self.dispatcher.deliver_interaction(
            "slash_commands", payload, self.app.command_url(command)
        )
        if result.acked and result.payload:
            error = apply_response(self, rurl, result.payload)
            if error is not None:
                result.error = error
        elif not result.acked:
            # What Slack shows when the app does not ack within 3 seconds.
            eph = self.ws.add_ephemeral(
                conv,
                user.id,
                f'{command} failed with the error "{result.error}"',
                sender="USLACKBOT",
            )
            self.ephemeral_posted(eph)
        return result

    async def click(
        self,
        user_ref: str,
        channel_ref: str,
        message_ts: str,
        action_id: str,
        value: str | None = None,
        block_id: str | None = None,
    ) -> InteractionResult:
        """A user clicks a button (or 👍/👎 feedback button) in a message's blocks."""
        if not self.app.interactivity_enabled:
            raise SandboxError("interactivity is not enabled in the app manifest")
        user = self._user(user_ref)
        conv = self._conversation_for(user, channel_ref)
        source: Message | Ephemeral | None = conv.messages.get(message_ts)
        if source is None:
            source = next(
                (e for e in self.ws.ephemerals if e.ts == message_ts and e.user_id == user.id), None
            )
        if source is None:
            raise SandboxError(f"no message {message_ts} in {conv.id}")
        found = find_clickable(source.blocks, action_id, block_id)
        if found is None:
            raise SandboxError(f"no button with action_id {action_id!r} on {message_ts}")
        rurl = new_response_url(
            self,
            "actions",
            user,
            conv,
            message_ts=source.ts,
            is_ephemeral_source=isinstance(source, Ephemeral),
            thread_ts=source.thread_ts,
        )
        payload = block_actions_payload(self, user, conv, source, *found, value, rurl)
        url = self.app.interactivity_request_url or self.app.event_request_url
        return await self.dispatcher.deliver_interaction("interactive", payload, url)

    async def select_in_home(
        self,
        user_ref: str,
        action_id: str,
        value: str,
        block_id: str | None = None,
        view_of: str | None = None,
    ) -> InteractionResult:
        """A person picks the option `value` in a static_select on their Home tab.
        `view_of` forges the request: the choice is made on another person's Home view (what
        a crafted payload would claim), to test that an app refuses it."""
        if not self.app.interactivity_enabled:
            raise SandboxError("interactivity is not enabled in the app manifest")
        user = self._user(user_ref)
        owner = self._user(view_of) if view_of else user
        view = self.ws.home_views.get(owner.id)
        if view is None:
            raise SandboxError(f"no Home view published for {owner.name}")
        found = find_select(view.get("blocks"), action_id, value, block_id)
        if found is None:
            raise SandboxError(f"no static_select {action_id!r} with option {value!r} on Home")
        payload = view_select_payload(self, user, view, *found)
        url = self.app.interactivity_request_url or self.app.event_request_url
        return await self.dispatcher.deliver_interaction("interactive", payload, url)


__all__ = ["Change", "Emulator", "SandboxError"]
