"""The response_url endpoint, `POST /commands|actions/<team>/<id>/<key>`: checks the URL (5
uses within 30 minutes), reads the app's answer and hands it to `interactions.apply_response`.
"""

from __future__ import annotations

import json

from aiohttp import web

from slackemu.appkey import EMULATOR
from slackemu.interactions import RESPONSE_URL_MAX_USES, RESPONSE_URL_TTL_S, apply_response


async def handle_response_url(request: web.Request) -> web.Response:
    """POST /commands|actions/<team>/<id>/<key>: a response_url, usable 5 times in 30 minutes."""
    emu = request.app[EMULATOR]
    rurl = emu.ws.response_urls.get(request.match_info["id"])
    if (
        rurl is None
        or rurl.key != request.match_info["key"]
        or rurl.origin != request.match_info["origin"]
    ):
        return web.Response(status=404, text="no_service")
    # NOTE: the real error bodies for expired and over-used URLs are not documented.
    if emu.clock.now() - rurl.created_at > RESPONSE_URL_TTL_S:
        return web.Response(status=404, text="expired_url")
    if rurl.uses >= RESPONSE_URL_MAX_USES:
        return web.Response(status=404, text="used_url")
    try:
        if request.content_type == "application/json":
            body = json.loads(await request.text())
        else:
            body = json.loads(str((await request.post()).get("payload", "{}")))
    except json.JSONDecodeError:
        return web.Response(status=400, text="invalid_payload")
    if not isinstance(body, dict):
        return web.Response(status=400, text="invalid_payload")
    rurl.uses += 1
    error = apply_response(emu, rurl, body)
    emu.record_response_url_post(rurl, body, error)
    if error is not None:
        return web.Response(
            status=400 if error in ("no_text", "invalid_blocks") else 404, text=error
        )
    return web.Response(text="ok")
