"""The browser UI: a Slack-like page (sidebar, channel pane, thread pane, composer) rendered with
jinja2, HTML fragments for the thread pane, and a Server-Sent Events stream that pushes each
change as ready-rendered HTML. Actions go through the JSON control API (`control_api.py`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web
from markupsafe import Markup

from slackemu.appkey import EMULATOR
from slackemu.emulator import Change, Emulator
from slackemu.render import emoji_glyph, render_body
from slackemu.state import Conversation, Ephemeral, Message, User

logger = logging.getLogger(__name__)

HERE = Path(__file__).parent
SSE_KEEPALIVE_S = 15.0
_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_streams: weakref.WeakKeyDictionary[Emulator, set[asyncio.Queue[Change | None]]] = (
    weakref.WeakKeyDictionary()
)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", index)
    app.router.add_get("/archives/{channel}/{permalink}", permalink)
    app.router.add_get("/_sandbox/events", events)
    app.router.add_get("/_sandbox/ui/messages", messages_fragment)
    app.router.add_get("/_sandbox/ui/thread", thread_fragment)
    app.router.add_static("/static/", HERE / "static", append_version=False)


async def close_streams(emu: Emulator) -> None:
    for queue in _streams.get(emu, set()):
        queue.put_nowait(None)


# --- view models -------------------------------------------------------------------------------
def _initials(user: User | None) -> str:
    if user is None:
        return "?"
    words = (user.label or user.name).split()
    return "".join(w[0] for w in words[:2]).upper()


def message_html(emu: Emulator, conv: Conversation, msg: Message, *, in_thread: bool) -> Markup:
    ws = emu.ws
    author = ws.users.get(msg.user)
    replies = [] if msg.is_reply or in_thread else conv.replies(msg.ts)
    stream_status = msg.stream.status if msg.stream else None
    view: dict[str, Any] = {
        "kind": "message",
        "ts": msg.ts,
        "channel": conv.id,
        "thread_ts": msg.thread_ts,
        "author": author.label if author else msg.user,
        "initials": _initials(author),
        "color": author.color if author else "888888",
        "is_app": bool(author and author.is_bot),
        "time": _hhmm(msg.ts),
        "body": render_body(msg.text, msg.blocks, msg.is_markdown, ws),
        "edited": bool(msg.edited) and msg.stream is None,
        "streaming": msg.is_streaming,
        "stream_status": stream_status,
        "tombstone": msg.subtype == "tombstone",
        "reply_count": len(replies),
        "reply_avatars": [
            _avatar(ws.users.get(u)) for u in list(dict.fromkeys(r.user for r in replies))[:5]
        ],
        "last_reply": replies[-1].ts if replies else "",
        "reactions": [
            {"glyph": emoji_glyph(name), "name": name, "count": len(users)}
            for name, users in msg.reactions.items()
        ],
        "in_thread": in_thread,
        "can_reply": not in_thread and not msg.is_reply,
    }
    return Markup(_templates.get_template("message.html.jinja").render(m=view))


def ephemeral_html(emu: Emulator, eph: Ephemeral) -> Markup:
    ws = emu.ws
    sender = ws.users.get(eph.sender)
    view: dict[str, Any] = {
        "kind": "ephemeral",
        "ts": eph.ts,
        "channel": eph.channel_id,
        "thread_ts": eph.thread_ts,
        "author": sender.label if sender else "Slackbot",
        "initials": _initials(sender) if sender else "S",
        "color": sender.color if sender else "2eb67d",
        "is_app": True,
        "time": _hhmm(eph.ts),
        "body": render_body(eph.text, eph.blocks, eph.is_markdown, ws),
        "edited": False,
        "streaming": False,
        "stream_status": None,
        "tombstone": False,
        "reply_count": 0,
        "reply_avatars": [],
        "last_reply": "",
        "reactions": [],
        "in_thread": eph.thread_ts is not None,
        "can_reply": False,
    }
    return Markup(_templates.get_template("message.html.jinja").render(m=view))


def home_html(emu: Emulator, user_id: str) -> Markup:
    """The app's Home tab for this person: the view last published for them (views.publish)."""
    view = emu.ws.home_views.get(user_id)
    if view is None:
        return Markup(
            '<div class="empty">This app has not published a Home view for you yet.</div>'
        )
    return render_body("", view.get("blocks") or [], False, emu.ws)


def _avatar(user: User | None) -> dict[str, str]:
    return {"initials": _initials(user), "color": user.color if user else "888888"}


def _hhmm(ts: str) -> str:
    return time.strftime("%H:%M", time.gmtime(float(ts)))


def _channel_items(emu: Emulator, conv: Conversation, user_id: str) -> list[Markup]:
    """The main pane: top-level messages plus this user's top-level ephemerals, in ts order."""
    items: list[tuple[str, Markup]] = [
        (m.ts, message_html(emu, conv, m, in_thread=False)) for m in conv.top_level()
    ]
    items += [
        (e.ts, ephemeral_html(emu, e))
        for e in emu.ws.ephemerals
        if e.channel_id == conv.id and e.user_id == user_id and e.thread_ts is None
    ]
    return [html for _, html in sorted(items, key=lambda pair: pair[0])]


def _thread_items(emu: Emulator, conv: Conversation, parent: Message, user_id: str) -> list[Markup]:
    items = [
        (m.ts, message_html(emu, conv, m, in_thread=True))
        for m in [parent, *conv.replies(parent.ts)]
    ]
    items += [
        (e.ts, ephemeral_html(emu, e))
        for e in emu.ws.ephemerals
        if e.channel_id == conv.id and e.user_id == user_id and e.thread_ts == parent.ts
    ]
    return [html for _, html in sorted(items, key=lambda pair: pair[0])]


def _viewer(emu: Emulator, ref: str | None) -> User:
    humans = emu.ws.humans()
    if ref:
        try:
            return emu.ws.user(ref)
        except KeyError:
            pass
    return humans[0] if humans else emu.ws.bot_user


def _current_conversation(emu: Emulator, viewer: User, ref: str | None) -> Conversation:
    if ref:
        try:
            conv = emu.ws.conversation(ref)
            if conv.kind != "im" or conv.im_user == viewer.id:
                return conv
        except KeyError:
            pass
    member_of = [
        c for c in emu.ws.conversations.values() if c.kind != "im" and viewer.id in c.members
    ]
    return member_of[0] if member_of else emu.ws.dm_with(viewer.id)


# --- routes ------------------------------------------------------------------------------------
async def index(request: web.Request) -> web.Response:
    emu = request.app[EMULATOR]
    ws = emu.ws
    viewer = _viewer(emu, request.query.get("as"))
    conv = _current_conversation(emu, viewer, request.query.get("channel"))
    channels = [c for c in ws.conversations.values() if c.kind != "im" and viewer.id in c.members]
    dm = ws.dm_with(viewer.id) if not viewer.is_bot else None
    home = conv.kind == "im" and emu.app.home_tab_enabled and request.query.get("tab") == "home"
    people = [u for u in ws.users.values() if u.id != ws.bot_user.id]
    mention_targets = [
        {"id": u.id, "name": u.display_name or u.name, "real_name": u.real_name, "is_app": u.is_bot}
        for u in sorted(ws.users.values(), key=lambda u: (u.id != ws.bot_user.id, u.name))
    ]
    page = _templates.get_template("index.html.jinja").render(
        team=ws.team,
        bot=ws.bot_user,
        app=emu.app,
        viewer=viewer,
        conv=conv,
        channels=channels,
        dm=dm,
        people=people,
        items=_channel_items(emu, conv, viewer.id),
        home=home,
        home_html=home_html(emu, viewer.id) if home else "",
        connections=len(emu.sockets.open_connections()),
        app_notice=emu.app_notice,
        config_json=Markup(
            json.dumps(
                {
                    "channel": conv.id,
                    "channelName": conv.name if conv.kind != "im" else "",
                    "as": viewer.id,
                    "botUserId": ws.bot_user.id,
                    "commands": sorted(emu.app.slash_commands),
                    "mentionTargets": mention_targets,
                    "openThread": request.query.get("thread", ""),
                    "home": home,
                }
            ).replace("</", "<\\/")
        ),
        socket_mode=emu.app.socket_mode_enabled,
        api_url=emu.base_url + "/api/",
        tokens=emu.creds,
    )
    return web.Response(text=page, content_type="text/html", charset="utf-8")


async def permalink(request: web.Request) -> web.Response:
    """/archives/C…/p1700000000000100 → the page with that message (and its thread) shown."""
    channel = request.match_info["channel"]
    thread_ts = request.query.get("thread_ts", "")
    location = f"/?channel={channel}" + (f"&thread={thread_ts}" if thread_ts else "")
    raise web.HTTPFound(location)


async def messages_fragment(request: web.Request) -> web.Response:
    emu = request.app[EMULATOR]
    viewer = _viewer(emu, request.query.get("as"))
    conv = _current_conversation(emu, viewer, request.query.get("channel"))
    html = "".join(_channel_items(emu, conv, viewer.id))
    return web.Response(text=html, content_type="text/html", charset="utf-8")


async def thread_fragment(request: web.Request) -> web.Response:
    emu = request.app[EMULATOR]
    viewer = _viewer(emu, request.query.get("as"))
    conv = _current_conversation(emu, viewer, request.query.get("channel"))
    parent = conv.messages.get(request.query.get("ts", ""))
    if parent is None:
        raise web.HTTPNotFound(text="no such thread")
    if parent.is_reply and parent.thread_ts in conv.messages:
        parent = conv.messages[parent.thread_ts]
    html = "".join(_thread_items(emu, conv, parent, viewer.id))
    status = emu.status_of(conv.id, parent.ts)
    return web.json_response({"ts": parent.ts, "html": html, "status": _status_text(emu, status)})


def _status_text(emu: Emulator, status: str) -> str:
    return f"{emu.ws.bot_user.label} {status}" if status else ""


async def events(request: web.Request) -> web.StreamResponse:
    """Server-Sent Events: one JSON object per visible change, rendered for this viewer."""
    emu = request.app[EMULATOR]
    viewer = _viewer(emu, request.query.get("as"))
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    queue: asyncio.Queue[Change | None] = asyncio.Queue()
    _streams.setdefault(emu, set()).add(queue)
    stop_observing = emu.observe(queue.put_nowait)
    try:
        await response.write(b": connected\n\n")
        while True:
            try:
                change = await asyncio.wait_for(queue.get(), SSE_KEEPALIVE_S)
            except TimeoutError:
                await response.write(b": keepalive\n\n")
                continue
            if change is None:
                break
            data = change_payload(emu, change, viewer.id)
            if data is not None:
                await response.write(f"data: {json.dumps(data)}\n\n".encode())
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        stop_observing()
        _streams.get(emu, set()).discard(queue)
    return response


def change_payload(emu: Emulator, change: Change, viewer_id: str) -> dict[str, Any] | None:
    """What the page needs to show one change (None: nothing for this viewer)."""
    data: dict[str, Any] = {
        "kind": change.kind,
        "channel": change.channel_id,
        "ts": change.ts,
        "thread_ts": change.thread_ts,
    }
    conv = emu.ws.conversations.get(change.channel_id)
    if change.kind in ("reset", "connection"):
        data["connections"] = len(emu.sockets.open_connections())
        data["notice"] = emu.app_notice
        return data
    if change.kind == "home":
        if change.user_id != viewer_id:
            return None
        data["html"] = str(home_html(emu, viewer_id))
        return data
    if conv is None:
        return None
    if change.kind == "status":
        data["text"] = _status_text(emu, emu.status_of(conv.id, change.ts))
        return data
    if change.kind in ("ephemeral", "ephemeral_removed"):
        if change.user_id != viewer_id:
            return None
        eph = next((e for e in emu.ws.ephemerals if e.ts == change.ts), None)
        data["html"] = str(ephemeral_html(emu, eph)) if eph else ""
        return data
    msg = conv.messages.get(change.ts)
    if msg is not None:
        data["is_reply"] = msg.is_reply
        data["html"] = str(message_html(emu, conv, msg, in_thread=msg.is_reply))
        if not msg.is_reply:
            data["thread_html"] = str(message_html(emu, conv, msg, in_thread=True))
    else:
        data["is_reply"] = bool(change.thread_ts and change.thread_ts != change.ts)
    if data["is_reply"] and change.thread_ts in conv.messages:
        parent = conv.messages[change.thread_ts]
        data["parent_html"] = str(message_html(emu, conv, parent, in_thread=False))
    return data
