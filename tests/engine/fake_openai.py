"""A small real OpenAI-style HTTP server (aiohttp, loopback) whose faults a test chooses:
busy statuses, a stream dropped mid-answer, an error event, a stall, a stream that never
ends. It records each request's body and headers, and whether the client hung up."""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from engine.remote.llama_server import free_port


@dataclass
class Recorded:
    body: dict[str, Any]
    headers: dict[str, str]
    client_left: bool = False  # a write failed: the client closed the connection


@dataclass
class FakeOpenAI:
    """mode: ok | usage | length | 429 | 503 | 401 | drop | error_event | no_finish | stall
    | endless | context"""

    mode: str = "ok"
    words: list[str] = field(default_factory=lambda: ["Hello", " there", ", friend", "!"])
    models: list[dict[str, Any]] = field(
        default_factory=lambda: [{"id": "fake-model", "max_model_len": 2048}]
    )
    requests: list[Recorded] = field(default_factory=list)
    port: int = 0

    def start(self) -> FakeOpenAI:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        self._thread.start()
        assert ready.wait(10), "the fake server did not start"
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        asyncio.run_coroutine_threadsafe(_cancel_the_rest(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/chat/completions", self._chat)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        self._loop.run_until_complete(site.start())
        ready.set()
        self._loop.run_forever()

    async def _models(self, request: web.Request) -> web.Response:
        if self.mode == "401" and request.headers.get("Authorization") != "Bearer right-key":
            return web.json_response({"error": {"message": "bad key"}}, status=401)
        return web.json_response({"object": "list", "data": self.models})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        record = Recorded(await request.json(), dict(request.headers))
        self.requests.append(record)
        if self.mode in ("429", "503", "401"):
            message = {"error": {"message": f"fake {self.mode}", "type": "busy"}}
            return web.json_response(message, status=int(self.mode))
        if self.mode == "context":
            message = {"error": {"message": "This model's maximum context length is 2048"}}
            return web.json_response(message, status=400)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        try:
            await self._stream(request, response)
        except (ConnectionResetError, ConnectionError, asyncio.CancelledError):
            record.client_left = True
        return response

    async def _stream(self, request: web.Request, response: web.StreamResponse) -> None:
        async def send(data: dict[str, Any] | str) -> None:
            text = data if isinstance(data, str) else json.dumps(data)
            await response.write(f"data: {text}\n\n".encode())

        words = self.words
        for i, word in enumerate(words):
            if self.mode == "drop" and i == 2:
                assert request.transport is not None
                request.transport.abort()  # the server dies mid-answer
                return
            if self.mode == "error_event" and i == 2:
                await send({"error": {"message": "the model crashed"}})
                return
            await send(_chunk(word))
            await asyncio.sleep(0.01)
        if self.mode == "stall":
            await asyncio.sleep(3)  # no bytes for a while: the client's read timeout
        if self.mode == "endless":
            while True:  # keeps writing: only cancel() or a deadline ends it
                await response.write(b": ping\n\n")
                await asyncio.sleep(0.02)
        if self.mode != "no_finish":
            reason = "length" if self.mode == "length" else "stop"
            await send(_chunk("", finish=reason))
        if self.mode == "usage":
            await send({"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 4}})
        await send("[DONE]")


async def _cancel_the_rest() -> None:
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _chunk(text: str, finish: str | None = None) -> dict[str, Any]:
    delta = {"content": text} if text else {}
    return {
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
