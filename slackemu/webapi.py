"""The Web API front door, `/api/<method>`: parse arguments the ways Slack accepts them,
authenticate, check token type, scopes and required arguments, apply injected faults, call the
method handler, and answer as Slack does (HTTP 200 with `{"ok": false, "error": ...}`).

Every call is recorded and contract-checked; every answer is checked against the recorded
shapes. Method semantics live in `slackemu.methods`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web

from slackemu import contract, specs
from slackemu.appkey import EMULATOR
from slackemu.contract import TS_RE, Call, token_kind
from slackemu.methods.base import ApiContext, MethodSpec, SlackError

if TYPE_CHECKING:
    from slackemu.emulator import Emulator

logger = logging.getLogger(__name__)

# Arguments that arrive as JSON strings inside form bodies.
JSON_ARGS = frozenset(
    {
        "blocks",
        "attachments",
        "metadata",
        "chunks",
        "prompts",
        "loading_messages",
        "unfurled_attachments",
        "view",
    }
)
CONTENT_TYPE = "application/json; charset=utf-8"


# --- HTTP ------------------------------------------------------------------------------------
async def parse_request(request: web.Request) -> tuple[dict[str, Any], str | None, str]:
    """(args, token, content type) the way Slack reads them."""
    args: dict[str, Any] = dict(request.query)
    content_type = request.content_type or ""
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else None
    if request.method == "POST" and request.can_read_body:
        if content_type == "application/json":
            try:
                body = json.loads(await request.text() or "{}")
            except json.JSONDecodeError:
                body = None
            if not isinstance(body, dict):
                raise SlackError("invalid_json")
            # NOTE: Slack ignores a token inside a JSON body; it must be in the header.
            body.pop("token", None)
            args.update(body)
        else:
            form = await request.post()
            args.update({k: v for k, v in form.items() if isinstance(v, str)})
    for name in JSON_ARGS & args.keys():
        value = args[name]
        if isinstance(value, str) and value[:1] in ("[", "{"):
            with contextlib.suppress(json.JSONDecodeError):
                args[name] = json.loads(value)
    form_token = args.pop("token", None)
    return args, token or (str(form_token) if form_token else None), content_type


async def handle_api(request: web.Request) -> web.StreamResponse:
    emu: Emulator = request.app[EMULATOR]
    method = request.match_info["method"]
    try:
        args, token, content_type = await parse_request(request)
    except SlackError:
        args, token, content_type = {}, None, request.content_type or ""
    call = Call(
        method=method,
        http_method=request.method,
        content_type=content_type,
        args=dict(args),
        token_prefix=(token or "").split("-", 1)[0],
        at=emu.clock.now(),
    )
    emu.record_call(call)
    spec = emu.methods.get(method)
    channel_kind = _channel_kind(emu, args)
    call.violations += contract.check_call(
        emu.app, method, args, token, frozenset(emu.methods), channel_kind
    )
    emu.contract.warn(contract.unknown_args(method, args))

    fault = emu.faults.take(method)
    if fault is not None:
        if fault.delay_s:
            await asyncio.sleep(fault.delay_s)
        if fault.drop_connection:
            call.injected, call.status = True, 0
            if request.transport is not None:
                request.transport.close()
            emu.finish_call(call)
            return web.Response(status=500)
        if fault.changes_response:
            call.injected, call.status, call.response = True, fault.status, fault.body()
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
            emu.finish_call(call)
            return _json(call.response, fault.status, headers)

    body = await _answer(emu, spec, method, args, token, channel_kind, call)
    call.response = body
    emu.contract.add(contract.response_problems(method, body))
    emu.finish_call(call)
    headers = {"X-OAuth-Scopes": ",".join(sorted(emu.app.bot_scopes))}
    return _json(body, 200, headers)


async def _answer(
    emu: Emulator,
    spec: MethodSpec | None,
    method: str,
    args: dict[str, Any],
    token: str | None,
    channel_kind: str | None,
    call: Call,
) -> dict[str, Any]:
    if spec is None:
        return {"ok": False, "error": "unknown_method"}
    try:
        # 1) Who is calling, and may this kind of token call this method?
        if not token:
            raise SlackError("not_authed")
        if token not in (emu.creds.bot_token, emu.creds.app_token):
            raise SlackError("invalid_auth")
        if token_kind(token) not in spec.token_kinds:
            raise SlackError("not_allowed_token_type")
        # 2) Does the app hold a scope this method accepts?
        if token_kind(token) == "bot":
            acceptable = specs.bot_scopes(method, channel_kind)
            if acceptable and not set(acceptable) & emu.app.bot_scopes:
                raise SlackError(
                    "missing_scope",
                    needed=acceptable[0],
                    provided=",".join(sorted(emu.app.bot_scopes)),
                )
        # 3) Required arguments and ts formats.
        missing = contract.missing_required_args(method, args)
        if missing:
            raise SlackError(
                "invalid_arguments",
                _messages=[f"[ERROR] missing required field: {name}" for name in missing],
            )
        for name in contract.TS_ARGS:
            value = args.get(name)
            if value not in (None, "") and not (isinstance(value, str) and TS_RE.match(value)):
                raise SlackError(
                    "invalid_arguments",
                    _messages=[
                        f"[ERROR] invalid value for {name}: must be a string like 1700000000.000100"
                    ],
                )
        # 4) The method itself.
        return await spec.handler(ApiContext(emu, method, args, call))
    except SlackError as err:
        return _error_body(method, err)
    except Exception:
        # NOTE: a bug in the emulator, not in the caller: answer like a Slack outage and flag it.
        logger.exception("%s crashed", method)
        emu.contract.add([f"emulator: {method} handler crashed (see the log)"])
        return {"ok": False, "error": "internal_error"}


def _error_body(method: str, err: SlackError) -> dict[str, Any]:
    body: dict[str, Any] = {"ok": False, "error": err.code}
    messages = err.extra.pop("_messages", None)
    body.update(err.extra)
    recorded = specs.recorded_response(method) or {}
    if messages and "messages" in recorded.get("response_metadata", {}):
        body["response_metadata"] = {"messages": messages}
    return body


def _channel_kind(emu: Emulator, args: dict[str, Any]) -> str | None:
    ref = args.get("channel") or args.get("channel_id")
    conv = emu.ws.conversations.get(str(ref)) if ref else None
    return conv.kind if conv else None


def _json(body: dict[str, Any], status: int, headers: dict[str, str]) -> web.Response:
    return web.Response(
        text=json.dumps(body),
        status=status,
        headers=headers,
        content_type="application/json",
        charset="utf-8",
    )
