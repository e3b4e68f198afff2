"""The JSON control API under `/_sandbox/`, mirroring the Python API for the browser UI and for
scripts: act as people (post, mention, dm, slash, click, edit, delete, stop a stream) and read
state, calls, deliveries and violations.

Every route checks who is asking first: the Host header must be `localhost`, an IP literal or
the emulator's own host name (a DNS-rebinding page sends its own domain), an `Origin` or
`Sec-Fetch-Site` header must say same-origin, and POSTs must be JSON (a cross-site form
cannot send that without a preflight, which is never answered). The credentials in
`/_sandbox/state` (tokens, signing secret) go to loopback callers only.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from slackemu.appkey import EMULATOR
from slackemu.emulator import Emulator, SandboxError
from slackemu.richtext import link_names

JsonHandler = Callable[[Emulator, dict[str, Any]], Awaitable[Any]]
SAME_SITE_FETCHES = frozenset({"same-origin", "none"})


def add_routes(app: web.Application) -> None:
    for name, handler in POSTS.items():
        app.router.add_post(f"/_sandbox/{name}", _post(handler))
    app.router.add_get("/_sandbox/state", _get(_state, credentials=True))
    app.router.add_get("/_sandbox/messages", _get(_messages))
    app.router.add_get("/_sandbox/thread", _get(_thread))
    app.router.add_get("/_sandbox/calls", _get(_calls))
    app.router.add_get("/_sandbox/deliveries", _get(_deliveries))
    app.router.add_get("/_sandbox/violations", _get(_violations))


def _post(handler: JsonHandler) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def route(request: web.Request) -> web.Response:
        emu = request.app[EMULATOR]
        refused = refusal(request)
        if refused is not None:
            return web.json_response({"ok": False, "error": refused}, status=403)
        if request.content_type != "application/json":
            return web.json_response({"ok": False, "error": "json_only"}, status=415)
        try:
            body = await request.json() if request.can_read_body else {}
        except json.JSONDecodeError:
            return web.json_response({"ok": False, "error": "invalid_json"}, status=400)
        try:
            result = await handler(emu, body)
        except (SandboxError, KeyError, TypeError) as err:
            return web.json_response({"ok": False, "error": str(err)}, status=400)
        return web.json_response({"ok": True, **(result or {})})

    return route


def _get(
    handler: JsonHandler, *, credentials: bool = False
) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def route(request: web.Request) -> web.Response:
        refused = refusal(request)
        if refused is not None:
            return web.json_response({"ok": False, "error": refused}, status=403)
        query: dict[str, Any] = dict(request.query)
        if credentials:
            query["_with_credentials"] = is_loopback(request.remote)
        try:
            result = await handler(request.app[EMULATOR], query)
        except (SandboxError, KeyError) as err:
            return web.json_response({"ok": False, "error": str(err)}, status=400)
        return web.json_response({"ok": True, **result}, dumps=_dumps)

    return route


def refusal(request: web.Request) -> str | None:
    """Why this caller may not use the control API (an error code), or None."""
    own = urlsplit(request.app[EMULATOR].base_url).hostname
    if not trusted_host(request.host, own):
        return "untrusted_host"
    origin = request.headers.get("Origin")
    if origin is not None and origin != f"{request.scheme}://{request.host}":
        return "cross_origin"
    if request.headers.get("Sec-Fetch-Site", "none") not in SAME_SITE_FETCHES:
        return "cross_origin"
    return None


def trusted_host(host_header: str, own_host: str | None) -> bool:
    """Whether a Host header names this machine directly: localhost, an IP address (DNS
    rebinding needs a domain name), or the host name the emulator was started with."""
    name = urlsplit(f"//{host_header}").hostname or ""
    if name in ("localhost", own_host):
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def exposure_warning(host: str) -> str | None:
    """What is at stake when the emulator listens on `host` beyond this machine, or None."""
    if host == "localhost" or is_loopback(host):
        return None
    return (
        f"the local Slack workspace listens on {host}: anyone who can reach it can read "
        "every conversation and post as anyone (the tokens stay loopback-only); use "
        "127.0.0.1 unless you mean it"
    )


def is_loopback(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _dumps(value: Any) -> str:
    def encode(obj: Any) -> Any:
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            return dataclasses.asdict(obj)
        return str(obj)

    return json.dumps(value, default=encode)


def _typed(emu: Emulator, text: str) -> str:
    """What a person typed in the UI: `@Name` becomes a mention, as Slack's composer does."""
    names: dict[str, str] = {}
    for user in emu.ws.users.values():
        for name in (user.name, user.display_name, user.real_name):
            if name:
                names[name] = user.id
    return link_names(text, names)


async def _post_message(emu: Emulator, body: dict[str, Any]) -> dict[str, Any]:
    msg = await emu.human_post(
        body["user"], body["channel"], _typed(emu, body["text"]), body.get("thread_ts") or None
    )
    return {"ts": msg.ts, "channel": msg.channel_id}


async def _mention(emu: Emulator, body: dict[str, Any]) -> dict[str, Any]:
    text = f"<@{emu.ws.bot_user.id}> {body['text']}"
    msg = await emu.human_post(body["user"], body["channel"], text, body.get("thread_ts") or None)
    return {"ts": msg.ts, "channel": msg.channel_id}


async def _dm(emu: Emulator, body: dict[str, Any]) -> dict[str, Any]:
    return await _post_message(emu, {**body, "channel": "dm"})


async def _slash(emu: Emulator, body: dict[str, Any]) -> dict[str, Any]:
    result = await emu.slash(body["user"], body["channel"], body["command"], body.get("text", ""))
    return result.as_dict()


async def _click(emu: Emulator, body: dict[str, Any]) -> dict[str, Any]:
    result = await emu.click(
        body["user"],
        body["channel"],
        body["ts"],
        body["action_id"],
        body.get("value"),
        body.get("block_id") or None,
    )
    return result.as_dict()


async def _edit(emu: Emulator, body: dict[str, Any]) -> None:
    await emu.human_edit(body["user"], body["channel"], body["ts"], _typed(emu, body["text"]))


async def _delete(emu: Emulator, body: dict[str, Any]) -> None:
    await emu.human_delete(body["user"], body["channel"], body["ts"])


async def _stop_stream(emu: Emulator, body: dict[str, Any]) -> None:
    await emu.stop_stream_by_user(body["channel"], body["ts"])


async def _open_home(emu: Emulator, body: dict[str, Any]) -> dict[str, Any]:
    view = await emu.open_app_home(body["user"], body.get("tab", "home"))
    return {"view": view}


async def _select_home(emu: Emulator, body: dict[str, Any]) -> dict[str, Any]:
    result = await emu.select_in_home(
        body["user"], body["action_id"], body["value"], body.get("block_id") or None
    )
    return result.as_dict()


async def _disconnect(emu: Emulator, body: dict[str, Any]) -> dict[str, Any]:
    try:
        told = await emu.sockets.disconnect(body.get("reason", "refresh_requested"))
    except ValueError as err:
        raise SandboxError(str(err)) from None
    return {"connections": told}


async def _reset(emu: Emulator, body: dict[str, Any]) -> None:
    await emu.reset()


POSTS: dict[str, JsonHandler] = {
    "post": _post_message,
    "mention": _mention,
    "dm": _dm,
    "slash": _slash,
    "click": _click,
    "edit": _edit,
    "delete": _delete,
    "stop_stream": _stop_stream,
    "open_home": _open_home,
    "select_home": _select_home,
    "disconnect": _disconnect,
    "reset": _reset,
}


async def _state(emu: Emulator, query: dict[str, str]) -> dict[str, Any]:
    ws = emu.ws
    return {
        "team": dataclasses.asdict(ws.team),
        "bot": {
            "user_id": ws.bot_user.id,
            "bot_id": ws.bot_user.bot_id,
            "app_id": ws.bot_user.app_id,
            "name": ws.bot_user.label,
        },
        "users": [
            {
                "id": u.id,
                "name": u.name,
                "display_name": u.display_name,
                "real_name": u.real_name,
                "is_bot": u.is_bot,
            }
            for u in ws.users.values()
        ],
        "channels": [
            {"id": c.id, "name": c.name, "kind": c.kind, "members": sorted(c.members)}
            for c in ws.conversations.values()
        ],
        "app": {
            "name": emu.app.app_name,
            "socket_mode": emu.app.socket_mode_enabled,
            "slash_commands": sorted(emu.app.slash_commands),
            "interactivity": emu.app.interactivity_enabled,
            "request_url": emu.app.event_request_url,
        },
        "connections": len(emu.sockets.open_connections()),
        "api_url": emu.base_url + "/api/",
        "tokens": {
            "bot": emu.creds.bot_token,
            "app": emu.creds.app_token,
            "signing_secret": emu.creds.signing_secret,
        }
        if query.get("_with_credentials")
        else None,
    }


async def _messages(emu: Emulator, query: dict[str, str]) -> dict[str, Any]:
    conv = emu.ws.conversation(query["channel"])
    return {"messages": [emu.ws.message_dict(conv, m) for m in conv.top_level()]}


async def _thread(emu: Emulator, query: dict[str, str]) -> dict[str, Any]:
    conv = emu.ws.conversation(query["channel"])
    parent = conv.messages[query["ts"]]
    return {"messages": [emu.ws.message_dict(conv, m) for m in [parent, *conv.replies(parent.ts)]]}


async def _calls(emu: Emulator, query: dict[str, str]) -> dict[str, Any]:
    method = query.get("method")
    return {"calls": [c for c in emu.calls if method in (None, c.method)]}


async def _deliveries(emu: Emulator, query: dict[str, str]) -> dict[str, Any]:
    return {"deliveries": emu.dispatcher.deliveries}


async def _violations(emu: Emulator, query: dict[str, str]) -> dict[str, Any]:
    return {"violations": emu.contract.violations(), "warnings": emu.contract.warnings()}
