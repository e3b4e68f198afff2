"""RemoteEngine: the engine contract served by an OpenAI-compatible server over HTTP.

`submit()` opens a streaming `/v1/chat/completions` request and returns once the server has
answered with its status: 429/503 (or our own ENGINE_MAX_CONCURRENCY being reached) raise
`EngineOverloaded` there, as a full local queue does, so the bot says it is busy. The handle
then streams text deltas and resolves to a `Completion`; a lost connection, a read timeout
or an error event ends it with FinishReason.ERROR, never a hang.

All requests run on one asyncio loop thread with one `httpx.AsyncClient` (and httpx-sse);
`cancel()` cancels the request's task, which closes its connection. Whether the server then
stops generating (frees the slot) is up to the server; from their source:
  - vLLM: yes, the OpenAI server aborts the request when the client disconnects.
  - SGLang: yes, the tokenizer manager aborts a disconnected request (`abort_request`).
  - TGI: yes, the router drops a request whose response channel was closed.
  - Ollama: yes, the runner stops a sequence when the request context is cancelled.
  - llama-cpp-python's server: yes, after the next token (`request.is_disconnected()` per
    chunk). It serves one request at a time behind a lock, and by default a new request
    interrupts the running one (start it with `--interrupt_requests False`); a stream cut
    that way ends without a finish reason, which is reported here as ERROR.
  - llama.cpp's own `llama-server`: yes, it cancels the task of a closed connection.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from httpx_sse import SSEError, aconnect_sse

from engine.chat import ChatFormat
from engine.errors import (
    EngineError,
    EngineOverloaded,
    EngineShutdown,
    EngineUnreachable,
    PromptTooLong,
)
from engine.front_door import Counters, admitted_params, check_fits
from engine.remote.wire import error_detail, finish_reason, parse_chunk, request_body
from engine.types import (
    ChatMessage,
    Completion,
    EngineStats,
    FinishReason,
    ModelInfo,
    SamplingParams,
)

logger = logging.getLogger(__name__)

CHAT_PATH = "/v1/chat/completions"
BUSY_STATUSES = frozenset({429, 503})


@dataclass(frozen=True, slots=True)
class RemoteConfig:
    url: str  # the server's base URL, without /v1
    model: str
    api_key: str | None = field(default=None, repr=False)  # never in a log line
    timeout_s: float = 60.0  # connect, and the longest gap between two chunks
    max_running: int = 16  # requests in flight at once (ENGINE_MAX_CONCURRENCY)
    max_queue: int = 0  # nothing waits here: the server queues
    default_timeout_s: float | None = None  # a request's wall-clock limit unless it sets one


_DONE = object()


class RemoteHandle:
    """One request: iterate it for text deltas; `result()` waits for the Completion."""

    def __init__(
        self, engine: RemoteEngine, request_id: int, prompt_tokens: int, params: SamplingParams
    ) -> None:
        self._engine = engine
        self.id = request_id
        self.prompt_tokens = prompt_tokens
        self.params = params
        self.submitted_at = time.monotonic()
        self.cancel_requested = False
        self._deltas: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._opened = threading.Event()  # the server answered (or the request failed)
        self._refusal: EngineError | None = None  # raised by submit()
        self._done = threading.Event()
        self._completion: Completion | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def queue_position(self) -> int | None:
        return None  # the server's queue is not visible

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def __iter__(self) -> Iterator[str]:
        while (item := self._deltas.get()) is not _DONE:
            yield item  # type: ignore[misc]

    def result(self, timeout: float | None = None) -> Completion:
        if not self._done.wait(timeout):
            raise TimeoutError(f"request {self.id} still running after {timeout} s")
        assert self._completion is not None
        return self._completion

    def cancel(self) -> None:
        self._engine.cancel(self)

    def _complete(self, completion: Completion) -> None:
        self._completion = completion
        self._deltas.put(_DONE)
        self._done.set()
        self._opened.set()


@dataclass(slots=True)
class _Stream:
    """What one request's stream has said so far (loop thread only)."""

    parts: list[str] = field(default_factory=list)
    finish: str | None = None
    prompt_tokens: int | None = None
    output_tokens: int | None = None
    opened_at: float | None = None
    first_text_at: float | None = None
    error: str | None = None


class RemoteEngine:
    """The engine contract (see engine.protocol) over an OpenAI-compatible server."""

    def __init__(self, config: RemoteConfig, tokenizer: Any, *, context_window: int) -> None:
        self.config = config
        self.tokenizer = tokenizer
        self.chat = ChatFormat(tokenizer)
        self.context_window = context_window
        self.info = ModelInfo(
            config.model, "remote", context_window, config.max_running, url=config.url
        )
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._in_flight: set[RemoteHandle] = set()
        self._stopping = False
        self._busy_since: float | None = None
        self._busy_s = 0.0
        self.counters = Counters()  # written under _lock
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="remote-engine")
        self._thread.daemon = True
        self._thread.start()
        self._client = asyncio.run_coroutine_threadsafe(self._open_client(), self._loop).result()

    async def _open_client(self) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {self.config.api_key}"} if self.config.api_key else {}
        return httpx.AsyncClient(
            base_url=self.config.url,
            headers=headers,
            timeout=httpx.Timeout(self.config.timeout_s),
            limits=httpx.Limits(max_connections=self.config.max_running + 2),
        )

    # -- front door (any thread) -------------------------------------------------------------

    def count_tokens(self, messages: Sequence[ChatMessage]) -> int:
        return len(self.chat.encode(messages))

    def submit(
        self, messages: Sequence[ChatMessage], params: SamplingParams | None = None
    ) -> RemoteHandle:
        """Send a request; raises at once when the server (or our limit) cannot take it."""
        params = admitted_params(params, self.config.default_timeout_s)
        prompt_tokens = self.count_tokens(messages)
        check_fits(prompt_tokens, self.context_window)
        with self._lock:
            if self._stopping:
                raise EngineShutdown("the engine is shutting down")
            if len(self._in_flight) >= self.config.max_running:
                raise EngineOverloaded(len(self._in_flight), 0)
            handle = RemoteHandle(self, next(self._ids), prompt_tokens, params)
            if not self._in_flight:
                self._busy_since = time.monotonic()
            self._in_flight.add(handle)
        body = request_body(
            self.config.model,
            messages,
            params,
            stop_token_ids=self.chat.stop_token_ids,
            include_usage=True,
        )
        asyncio.run_coroutine_threadsafe(self._run(handle, body), self._loop)
        if not handle._opened.wait(self.config.timeout_s * 2 + 5):  # httpx times out first
            self.cancel(handle)
            raise EngineUnreachable(f"no answer from ENGINE_URL={self.config.url}")
        if handle._refusal is not None:
            raise handle._refusal
        return handle

    def generate(
        self, messages: Sequence[ChatMessage], params: SamplingParams | None = None
    ) -> Completion:
        return self.submit(messages, params).result()

    def cancel(self, handle: RemoteHandle) -> None:
        """Stop a request: its task is cancelled and its connection closed."""
        handle.cancel_requested = True
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(_cancel_task, handle)

    def stats(self) -> EngineStats:
        with self._lock:
            busy = self._busy_s
            if self._busy_since is not None:
                busy += time.monotonic() - self._busy_since
            return self.counters.snapshot(
                running=len(self._in_flight),
                queued=0,
                max_running=self.config.max_running,
                max_queue=self.config.max_queue,
                busy_s=busy,
            )

    @property
    def is_alive(self) -> bool:
        """The client is running. A server that is down is not a dead engine: its requests
        fail one by one (with an apology) and succeed again when it is back."""
        return self._thread.is_alive() and not self._stopping

    def shutdown(self, *, cancel: bool = True, timeout: float | None = 30.0) -> None:
        """Stop accepting work; cancel (or let finish) what is in flight; close the client."""
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
            in_flight = list(self._in_flight)
        if cancel:
            for handle in in_flight:
                self.cancel(handle)
        deadline = None if timeout is None else time.monotonic() + timeout
        for handle in in_flight:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not handle._done.wait(left):  # out of time: no handle is left unresolved
                self.cancel(handle)
                handle._done.wait(5)
        asyncio.run_coroutine_threadsafe(self._client.aclose(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    # -- the loop thread ---------------------------------------------------------------------

    async def _run(self, handle: RemoteHandle, body: dict[str, Any]) -> None:
        """Stream one request into its handle; always completes it (or refuses it)."""
        handle._task = asyncio.current_task()
        stream = _Stream()
        reason: FinishReason | None = None
        try:
            if handle.cancel_requested:
                raise asyncio.CancelledError
            async with asyncio.timeout(handle.params.timeout_s):
                await self._stream(handle, body, stream)
            if handle._refusal is None and stream.finish is None and not stream.error:
                stream.error = "the stream ended without a finish reason"
            reason = FinishReason.ERROR if stream.error else finish_reason(stream.finish)
        except asyncio.CancelledError:
            reason = FinishReason.CANCELLED
        except TimeoutError:  # the request's own timeout_s
            reason = FinishReason.TIMEOUT
        except httpx.TimeoutException as err:
            stream.error = f"timed out waiting for the server ({err.__class__.__name__})"
        except (httpx.HTTPError, SSEError, ValueError) as err:
            stream.error = f"connection lost: {err.__class__.__name__}: {err}"[:300]
        except Exception as err:  # never leave a handle unresolved
            logger.exception("remote request %d failed", handle.id)
            stream.error = f"{err.__class__.__name__}: {err}"[:300]
        finally:
            self._resolve(handle, stream, reason or FinishReason.ERROR)

    async def _stream(self, handle: RemoteHandle, body: dict[str, Any], stream: _Stream) -> None:
        async with aconnect_sse(self._client, "POST", CHAT_PATH, json=body) as source:
            response = source.response
            if response.status_code != 200:
                detail = error_detail(response.status_code, await response.aread())
                handle._refusal = self._refusal(response.status_code, detail, handle)
                return
            stream.opened_at = time.monotonic()
            handle._opened.set()
            async for event in source.aiter_sse():
                data = event.data.strip()
                if data == "[DONE]":
                    return
                if not data:
                    continue
                chunk = parse_chunk(json.loads(data))
                if chunk.error:
                    stream.error = chunk.error
                    return
                if chunk.text:
                    stream.first_text_at = stream.first_text_at or time.monotonic()
                    stream.parts.append(chunk.text)
                    handle._deltas.put(chunk.text)
                stream.finish = chunk.finish or stream.finish
                stream.prompt_tokens = chunk.prompt_tokens or stream.prompt_tokens
                stream.output_tokens = chunk.output_tokens or stream.output_tokens

    def _refusal(self, status: int, detail: str, handle: RemoteHandle) -> EngineError:
        logger.warning("ENGINE_URL=%s refused request %d: %s", self.config.url, handle.id, detail)
        if status in BUSY_STATUSES:
            return EngineOverloaded(len(self._in_flight), 0)
        if status in (400, 413, 422) and "context" in detail.lower():
            return PromptTooLong(handle.prompt_tokens, self.context_window)
        if status in (401, 403):
            return EngineUnreachable(f"ENGINE_URL refused the key ({detail}): check ENGINE_API_KEY")
        return EngineUnreachable(f"ENGINE_URL={self.config.url} refused the request ({detail})")

    def _resolve(self, handle: RemoteHandle, stream: _Stream, reason: FinishReason) -> None:
        now = time.monotonic()
        if stream.opened_at is None and handle._refusal is None and reason is FinishReason.ERROR:
            handle._refusal = EngineUnreachable(
                f"cannot reach ENGINE_URL={self.config.url}: {stream.error}"
            )
        if stream.error:
            logger.warning("remote request %d ended: %s", handle.id, stream.error)
        text = "".join(stream.parts)
        ids = self.tokenizer.encode(text, add_special_tokens=False) if text else []
        completion = Completion(
            request_id=handle.id,
            text=text,
            token_ids=ids,  # re-tokenized from the text: servers stream text, not ids
            prompt_tokens=stream.prompt_tokens or handle.prompt_tokens,
            output_tokens=stream.output_tokens if stream.output_tokens is not None else len(ids),
            finish_reason=reason,
            queue_wait_s=(stream.opened_at or now) - handle.submitted_at,
            ttft_s=stream.first_text_at - handle.submitted_at if stream.first_text_at else None,
            total_s=now - handle.submitted_at,
            error=stream.error if reason is FinishReason.ERROR else None,
            engine_s=now - handle.submitted_at,  # wall time: the server's share is not visible
        )
        with self._lock:
            self._in_flight.discard(handle)
            if not self._in_flight and self._busy_since is not None:
                self._busy_s += now - self._busy_since
                self._busy_since = None
            if handle._refusal is None:
                self.counters.finished += 1
                self.counters.tokens_generated += completion.output_tokens
                self.counters.prompt_tokens += completion.prompt_tokens
        handle._complete(completion)


def _cancel_task(handle: RemoteHandle) -> None:
    if handle._task is not None and not handle._task.done():
        handle._task.cancel()
