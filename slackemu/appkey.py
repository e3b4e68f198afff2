"""The aiohttp application key under which request handlers find the emulator."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from slackemu.emulator import Emulator

EMULATOR: web.AppKey[Emulator] = web.AppKey("emulator")
