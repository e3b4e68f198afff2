"""The one HTTP port: routes for the Web API, Socket Mode, response_urls, the control API and
the browser UI, and starting/stopping the aiohttp server on the current event loop.
"""

from __future__ import annotations

import logging

from aiohttp import web

from slackemu import control_api, ui
from slackemu.appkey import EMULATOR
from slackemu.emulator import Emulator
from slackemu.response_urls import handle_response_url
from slackemu.webapi import handle_api

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 8 * 1024 * 1024


def build_app(emu: Emulator) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[EMULATOR] = emu
    app.router.add_route("*", "/api/{method}", handle_api)
    app.router.add_get("/link/", emu.sockets.handle)
    app.router.add_get("/link", emu.sockets.handle)
    app.router.add_post("/{origin:commands|actions}/{team}/{id}/{key}", handle_response_url)
    control_api.add_routes(app)
    ui.add_routes(app)
    return app


class EmulatorServer:
    """Serves one emulator on host:port (port 0 picks a free one) in the running loop."""

    def __init__(self, emu: Emulator, host: str = "127.0.0.1", port: int = 0) -> None:
        self.emu = emu
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        self._runner = web.AppRunner(
            build_app(self.emu), access_log=None, handle_signals=False, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        url_host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        self.emu.base_url = f"http://{url_host}:{self.port}"
        logger.info("slack emulator listening on %s", self.emu.base_url)
        return self.emu.base_url

    async def stop(self) -> None:
        await ui.close_streams(self.emu)
        await self.emu.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
