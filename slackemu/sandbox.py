"""The Python API for tests and benchmarks: a Sandbox runs the emulator on its own asyncio loop
in a background thread, and every method here is a thread-safe call onto that loop.

    sb = Sandbox.start()                      # listening when this returns
    client = WebClient(token=sb.bot_token, base_url=sb.api_url)
    ts = sb.mention("ada", "support", "how do I reset my password?")
    reply = sb.wait_for_reply("support", ts)  # the bot's final answer in that thread
    assert not sb.violations()
    sb.stop()
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from slackemu.clock import Clock, FakeClock
from slackemu.contract import Call
from slackemu.delivery import SLACK_RETRY_DELAYS_S, Delivery, InteractionResult
from slackemu.emulator import DEFAULT_STREAM_TTL_S, Emulator, SandboxError
from slackemu.server import EmulatorServer
from slackemu.socket_mode import Ack
from slackemu.state import Conversation, Message

T = TypeVar("T")
START_TIMEOUT_S = 10.0
CALL_TIMEOUT_S = 60.0


class Sandbox:
    """A running local Slack workspace. Create with `Sandbox.start(...)`; stop with `stop()`."""

    def __init__(
        self,
        emu: Emulator,
        server: EmulatorServer,
        loop: asyncio.AbstractEventLoop,
        thread: threading.Thread,
    ) -> None:
        self.emulator = emu
        self._server = server
        self._loop = loop
        self._thread = thread
        self._changed = threading.Condition()
        self._stopped = False

        def wake() -> None:
            with self._changed:
                self._changed.notify_all()

        emu.watch(wake)

    @classmethod
    def start(
        cls,
        manifest: str | Path | dict[str, Any] | None = None,
        seed: str | Path | dict[str, Any] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock | None = None,
        request_url: str | None = None,
        *,
        stream_ttl_s: float = DEFAULT_STREAM_TTL_S,
        ack_timeout_s: float = 3.0,
        retry_delays_s: tuple[float, ...] = SLACK_RETRY_DELAYS_S,
    ) -> Sandbox:
        """Start serving; returns once the port is listening.

        manifest: Slack app manifest (path or dict); None uses slackemu's default manifest.
        seed: workspace seed (path or dict) merged over the default workspace.
        clock: None for wall-clock time; a FakeClock to drive timeouts and retries by hand.
        request_url: deliver events, commands and clicks over HTTP here (Socket Mode off).
        """
        emu = Emulator(
            manifest=manifest,
            seed=seed,
            clock=clock,
            request_url=request_url,
            stream_ttl_s=stream_ttl_s,
            ack_timeout_s=ack_timeout_s,
            retry_delays_s=retry_delays_s,
        )
        server = EmulatorServer(emu, host, port)
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="slackemu", daemon=True)
        thread.start()
        try:
            asyncio.run_coroutine_threadsafe(server.start(), loop).result(START_TIMEOUT_S)
        except BaseException:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(START_TIMEOUT_S)
            raise
        return cls(emu, server, loop, thread)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        try:
            self._run(self._server.stop())
            self._run(_cancel_other_tasks())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(START_TIMEOUT_S)
            self._loop.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- running things on the loop ----------------------------------------------------------
    def _run(self, coro: Coroutine[Any, Any, T], timeout: float = CALL_TIMEOUT_S) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def _on_loop(self, fn: Callable[[], T]) -> T:
        async def call() -> T:
            return fn()

        return self._run(call())

    # --- identity ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The browser UI."""
        return self.emulator.base_url

    @property
    def api_url(self) -> str:
        """Pass as `WebClient(base_url=...)`."""
        return self.emulator.base_url + "/api/"

    @property
    def port(self) -> int:
        return self._server.port

    bot_token = property(lambda self: self.emulator.creds.bot_token)
    app_token = property(lambda self: self.emulator.creds.app_token)
    signing_secret = property(lambda self: self.emulator.creds.signing_secret)
    team_id = property(lambda self: self.emulator.ws.team.id)
    bot_user_id = property(lambda self: self.emulator.ws.bot_user.id)
    bot_id = property(lambda self: self.emulator.ws.bot_user.bot_id)
    app_id = property(lambda self: self.emulator.ws.bot_user.app_id)

    @property
    def clock(self) -> Clock:
        return self.emulator.clock

    @property
    def users(self) -> list[dict[str, Any]]:
        """Every user (humans, the bot, other bots) as users.info shows them."""
        ws = self.emulator.ws
        return self._on_loop(lambda: [ws.user_dict(u) for u in ws.users.values()])

    def user_id(self, name: str) -> str:
        return self._on_loop(lambda: self.emulator._user(name).id)

    def channel_id(self, name: str) -> str:
        return self._on_loop(lambda: self.emulator._conversation(name).id)

    def dm_channel(self, user: str) -> str:
        """The id of the bot's DM with this user."""
        return self._on_loop(lambda: self.emulator.ws.dm_with(self.emulator._user(user).id).id)

    # --- acting as people -------------------------------------------------------------------
    def post_message(self, user: str, channel: str, text: str, thread_ts: str | None = None) -> str:
        """`user` (id or name) posts typed `text` in `channel` (id, `support` or `#support`)."""
        return self._run(self.emulator.human_post(user, channel, text, thread_ts)).ts

    def mention(self, user: str, channel: str, text: str, thread_ts: str | None = None) -> str:
        """Like post_message, with `<@BOT>` in front."""
        return self.post_message(user, channel, f"<@{self.bot_user_id}> {text}", thread_ts)

    def dm(self, user: str, text: str, thread_ts: str | None = None) -> str:
        return self.post_message(user, self.dm_channel(user), text, thread_ts)

    def slash(
        self, user: str, channel: str, command: str, text: str = "", timeout: float = 10.0
    ) -> dict[str, Any]:
        """Run a slash command; returns what the user saw at once:
        `{"acked": bool, "payload": <ack payload or None>, "error": None | "operation_timeout"}`.

        Waits for the app's ack or the 3 s ack deadline on the sandbox clock, at most `timeout`
        real seconds (TimeoutError). With a FakeClock and no ack coming, use slash_nowait()
        and advance the clock.
        """
        return self.slash_nowait(user, channel, command, text).result(timeout)

    def slash_nowait(
        self, user: str, channel: str, command: str, text: str = ""
    ) -> concurrent.futures.Future[dict[str, Any]]:
        """Like slash(), but returns at once with a Future of the result."""
        return self._submit(self.emulator.slash(user, channel, command, text))

    def click(
        self,
        user: str,
        channel: str,
        message_ts: str,
        action_id: str,
        value: str | None = None,
        block_id: str | None = None,
        timeout: float = 10.0,
    ) -> dict[str, Any]:
        """Click a button (block_actions); `value` picks 👍/👎 on feedback buttons. Returns the
        ack like slash() does."""
        return self._submit(
            self.emulator.click(user, channel, message_ts, action_id, value, block_id)
        ).result(timeout)

    def select_in_home(
        self,
        user: str,
        action_id: str,
        value: str,
        block_id: str | None = None,
        view_of: str | None = None,
        timeout: float = 10.0,
    ) -> dict[str, Any]:
        """Pick option `value` in a static_select on `user`'s Home tab (block_actions);
        `view_of="ada"` forges it from ada's view. Returns the ack like click() does."""
        return self._submit(
            self.emulator.select_in_home(user, action_id, value, block_id, view_of)
        ).result(timeout)

    def _submit(
        self, coro: Coroutine[Any, Any, InteractionResult]
    ) -> concurrent.futures.Future[dict[str, Any]]:
        async def run() -> dict[str, Any]:
            return (await coro).as_dict()

        return asyncio.run_coroutine_threadsafe(run(), self._loop)

    def edit(self, user: str, channel: str, ts: str, text: str) -> None:
        self._run(self.emulator.human_edit(user, channel, ts, text))

    def delete(self, user: str, channel: str, ts: str) -> None:
        self._run(self.emulator.human_delete(user, channel, ts))

    def open_home(self, user: str, tab: str = "home") -> dict[str, Any] | None:
        """`user` opens the app's Home tab: `app_home_opened` is sent. Returns the view
        published for them before this (None: none yet); see home_view() for what follows."""
        return self._run(self.emulator.open_app_home(user, tab))

    def home_view(self, user: str) -> dict[str, Any] | None:
        """The Home view last published for `user` (views.publish), or None."""
        return self._on_loop(lambda: self.emulator.ws.home_views.get(self.emulator._user(user).id))

    def stop_stream(self, channel: str, ts: str) -> None:
        """The user presses Stop on a streaming reply."""
        self._run(self.emulator.stop_stream_by_user(channel, ts))

    # --- looking ----------------------------------------------------------------------------
    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Top-level messages, oldest first, shaped like conversations.history's."""

        def read() -> list[dict[str, Any]]:
            conv = self.emulator._conversation(channel)
            return [self.emulator.ws.message_dict(conv, m) for m in conv.top_level()]

        return self._on_loop(read)

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """The thread parent then its replies, shaped like conversations.replies'."""

        def read() -> list[dict[str, Any]]:
            conv = self.emulator._conversation(channel)
            parent = conv.messages.get(ts)
            if parent is None:
                return []
            if parent.is_reply and parent.thread_ts in conv.messages:
                parent = conv.messages[parent.thread_ts]
            return [
                self.emulator.ws.message_dict(conv, m) for m in [parent, *conv.replies(parent.ts)]
            ]

        return self._on_loop(read)

    def ephemerals(self, user: str, channel: str | None = None) -> list[dict[str, Any]]:
        """Ephemeral messages this user has been shown (never in history)."""

        def read() -> list[dict[str, Any]]:
            user_id = self.emulator._user(user).id
            channel_id = self.emulator._conversation(channel).id if channel else None
            return [
                dataclasses.asdict(e)
                for e in self.emulator.ws.ephemerals
                if e.user_id == user_id and channel_id in (None, e.channel_id)
            ]

        return self._on_loop(read)

    def is_streaming(self, channel: str, ts: str) -> bool:
        def read() -> bool:
            msg = self.emulator._conversation(channel).messages.get(ts)
            return bool(msg and msg.is_streaming)

        return self._on_loop(read)

    def assistant_status(self, channel: str, thread_ts: str) -> str:
        """The "is thinking…" status shown in a thread ('' when none)."""
        return self._on_loop(
            lambda: self.emulator.status_of(self.emulator._conversation(channel).id, thread_ts)
        )

    def calls(self, method: str | None = None) -> list[Call]:
        """Web API calls received, oldest first (optionally one method only)."""
        return self._on_loop(
            lambda: [
                dataclasses.replace(c) for c in self.emulator.calls if method in (None, c.method)
            ]
        )

    def deliveries(self, kind: str | None = None) -> list[Delivery]:
        """Delivery attempts (events_api, slash_commands, interactive), oldest first."""
        return self._on_loop(
            lambda: [
                dataclasses.replace(d)
                for d in self.emulator.dispatcher.deliveries
                if kind in (None, d.kind)
            ]
        )

    def acks(self) -> list[Ack]:
        return self._on_loop(lambda: list(self.emulator.sockets.acks))

    def response_url_posts(self) -> list[dict[str, Any]]:
        return self._on_loop(lambda: list(self.emulator.response_url_posts))

    def violations(self) -> list[str]:
        """Contract violations by the bot, plus any emulator self-check failures ("emulator:")."""
        return self.emulator.contract.violations()

    def take_violations(self) -> list[str]:
        """The violations so far, clearing them (for tests that provoke violations on purpose)."""
        found = self.emulator.contract.violations()
        self.emulator.contract.clear()
        return found

    def warnings(self) -> list[str]:
        return self.emulator.contract.warnings()

    def num_connections(self) -> int:
        return self._on_loop(lambda: len(self.emulator.sockets.open_connections()))

    def set_app_notice(self, text: str) -> None:
        """Show a line about the app in every open page's banner ("" clears it)."""
        self._on_loop(lambda: self.emulator.set_app_notice(text))

    @property
    def app_notice(self) -> str:
        return self._on_loop(lambda: self.emulator.app_notice)

    # --- waiting ----------------------------------------------------------------------------
    def wait_for(self, predicate: Callable[[], T | None], timeout: float = 10.0) -> T:
        """Poll `predicate` (woken by every change) until it returns something truthy."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout} s")
            with self._changed:
                self._changed.wait(min(remaining, 0.05))

    def wait_for_reply(
        self,
        channel: str,
        thread_ts: str | None,
        timeout: float = 30.0,
        final: bool = True,
        quiet_s: float = 0.5,
        after_ts: str | None = None,
    ) -> dict[str, Any]:
        """The bot's latest message in a thread (or, with thread_ts=None, at the top level).

        Only bot messages newer than `after_ts` count; by default that is the newest message
        by anyone else there, so a follow-up waits for a new answer.
        final=True waits until the reply is finished, which means all of:
          * it is not a native stream still in streaming state (chat.stopStream not yet called);
          * its metadata does not say `event_payload.streaming == true` (a placeholder marker
            the bot may use while it edits a message with chat.update);
          * no bot message there changed for `quiet_s` seconds of real time (clock-independent),
            so a placeholder being edited with chat.update is not taken for the answer.
        """

        def probe() -> dict[str, Any] | None:
            return self._on_loop(
                lambda: self._reply_if_ready(channel, thread_ts, final, quiet_s, after_ts)
            )

        return self.wait_for(probe, timeout)

    def _reply_if_ready(
        self, channel: str, thread_ts: str | None, final: bool, quiet_s: float, after_ts: str | None
    ) -> dict[str, Any] | None:
        emu = self.emulator
        conv = emu._conversation(channel)
        pool = conv.replies(thread_ts) if thread_ts else conv.top_level()
        if thread_ts and thread_ts in conv.messages:
            pool = [conv.messages[thread_ts], *pool]
        bot_id = emu.ws.bot_user.id
        if after_ts is None:
            others = [m.ts for m in pool if m.user != bot_id]
            after_ts = others[-1] if others else "0.000000"
        candidates = [m for m in pool if m.user == bot_id and m.ts > after_ts]
        if not candidates:
            return None
        reply = candidates[-1]
        if final and not _is_final(candidates, quiet_s):
            return None
        return emu.ws.message_dict(conv, reply)

    # --- faults and control -----------------------------------------------------------------
    def inject(
        self,
        method: str,
        *,
        status: int | None = None,
        error: str | None = None,
        retry_after: int | None = None,
        delay: float = 0.0,
        drop_connection: bool = False,
        times: int | None = 1,
    ) -> None:
        """Make the next `times` calls of `method` ("*" for any) fail or stall, e.g.
        `inject("chat.postMessage", status=429, retry_after=1)`, `inject(m, error="fatal_error")`,
        `inject(m, status=500)`, `inject(m, delay=2.0)`, `inject(m, drop_connection=True)`."""
        self.emulator.faults.inject(
            method,
            status=status,
            error=error,
            retry_after=retry_after,
            delay=delay,
            drop_connection=drop_connection,
            times=times,
        )

    def redeliver(self, event_id: str) -> None:
        """Deliver an event again, as Slack does when it never saw the ack (after a restart)."""

        def send() -> None:
            payload = next(
                d.payload for d in self.emulator.dispatcher.deliveries if d.event_id == event_id
            )
            self.emulator.dispatcher.send_event(payload)

        self._on_loop(send)

    def disconnect(self, reason: str = "refresh_requested") -> int:
        """Send Socket Mode `disconnect` with this reason to every open connection."""
        return self._run(self.emulator.sockets.disconnect(reason))

    def drop_sockets(self) -> int:
        """Cut every Socket Mode connection without a goodbye."""
        return self._run(self.emulator.sockets.drop())

    def expire_stream(self, channel: str, ts: str) -> None:
        """The stream at `ts` stops accepting appends now (message_not_in_streaming_state)."""
        self._on_loop(lambda: self.emulator.expire_stream(channel, ts))

    def advance(self, seconds: float) -> None:
        """Move a FakeClock forward (ack deadlines, retries, expiry) and let the loop react."""
        if not isinstance(self.clock, FakeClock):
            raise SandboxError("advance() needs Sandbox.start(clock=FakeClock())")
        self.clock.advance(seconds)
        for _ in range(3):
            self._run(asyncio.sleep(0))

    def verify_url(self) -> bool:
        """Send the url_verification handshake to the request URL; True if answered right."""
        return self._run(self.emulator.verify_request_url())

    def reset(self) -> None:
        """Back to the seed state (sockets stay connected)."""
        self._run(self.emulator.reset())


async def _cancel_other_tasks() -> None:
    current = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks() if t is not current]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _is_final(candidates: list[Message], quiet_s: float) -> bool:
    reply = candidates[-1]
    if reply.is_streaming:
        return False
    payload = (reply.metadata or {}).get("event_payload") or {}
    if payload.get("streaming") is True:
        return False
    last_change = max(m.modified_monotonic for m in candidates)
    return time.monotonic() - last_change >= quiet_s


__all__ = ["Conversation", "Sandbox", "SandboxError"]
