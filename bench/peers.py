"""llama.cpp's own `llama-server` as the bench's peer, on the same GGUF file, in its own
process: with parallel slots (continuous batching, what a team would run instead of
Deskhand's engine) and one request at a time.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from typing import Any


class LlamaServerPeer:
    """llama.cpp's `llama-server` on the same GGUF, in its own process, as users run it.

    `slots` parallel slots (continuous batching over them; 1 = one request at a time), the
    engine's thread count for decoding and prompt processing, each slot sized for the
    bench's prompts. Every measurement starts a fresh server, warms it with other questions
    under the same system prompt (so its prompt cache holds the system prompt, as a running
    service's would, and none of the measured questions), sends the conversations through
    the same client code as the remote engine (RemoteEngine, the same `run_engine`), and
    stops it. A crash of llama.cpp ends that process, never the bench.
    """

    def __init__(self, gguf_path: str, threads: int, settings: Any, context: int) -> None:
        from engine.remote.llama_server import missing_reason

        if reason := missing_reason():
            raise SystemExit(f"--peer llama-server: {reason}")
        self.gguf_path, self.threads, self.settings, self.context = (
            gguf_path,
            threads,
            settings,
            context,
        )

    @contextlib.contextmanager
    def serving(
        self, slots: int, warm_up: Sequence[Any], context: int | None = None
    ) -> Iterator[Any]:
        """A warmed RemoteEngine on a fresh `llama-server -np slots` (`context` per slot)."""
        from pathlib import Path

        from engine.remote.llama_server import LlamaServer
        from engine.remote.startup import start_remote_engine
        from engine.types import SamplingParams

        server = LlamaServer(
            Path(self.gguf_path),
            threads=self.threads,
            slots=slots,
            context=context or self.context,
        )
        try:
            server.wait_ready()
            update = {"engine_url": server.url, "engine_max_concurrency": max(16, slots)}
            engine = start_remote_engine(self.settings.model_copy(update=update).engine_options())
            try:
                for handle in [engine.submit(c, SamplingParams(max_new_tokens=4)) for c in warm_up]:
                    handle.result()
                yield engine
            finally:
                engine.shutdown()
        finally:
            server.stop()

    def together(
        self, conversations: Sequence[Any], warm_up: Sequence[Any], new_tokens: int
    ) -> dict[str, Any]:
        """All conversations at once on `-np len(conversations)`: run_engine's figures."""
        from bench.workload import run_engine
        from engine.types import SamplingParams

        params = SamplingParams(max_new_tokens=new_tokens, temperature=0.0, ignore_eos=True)
        with self.serving(len(conversations), warm_up) as engine:
            return run_engine(engine, conversations, params)

    def one_at_a_time_tok_s(
        self, conversations: Sequence[Any], warm_up: Sequence[Any], new_tokens: int
    ) -> float:
        """The conversations one after another on `-np 1`."""
        from engine.types import SamplingParams

        params = SamplingParams(max_new_tokens=new_tokens, temperature=0.0, ignore_eos=True)
        with self.serving(1, warm_up[:1]) as engine:
            started, tokens = time.perf_counter(), 0
            for conversation in conversations:
                tokens += engine.generate(conversation, params).output_tokens
            return tokens / (time.perf_counter() - started)
