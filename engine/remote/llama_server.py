"""A real OpenAI-compatible server on a loopback port: llama-cpp-python's `llama_cpp.server`
serving a GGUF (by default the packaged one), for the tests and `deskhand bench engine`.

`scripts/ensure-llama-server.sh` installs llama-cpp-python[server]; `missing_reason()` says
why it cannot start here, so tests can skip with that sentence.
"""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

SERVER_MODULES = ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context")


def missing_reason() -> str | None:
    """None when `python -m llama_cpp.server` can run, else why not and how to fix it."""
    missing = [m for m in SERVER_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        return (
            f"llama-cpp-python[server] is not installed (missing {', '.join(missing)}): "
            "run scripts/ensure-llama-server.sh"
        )
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LlamaServer:
    """`python -m llama_cpp.server` as a child process; stop() (or kill()) ends it."""

    def __init__(
        self,
        model_path: Path,
        *,
        alias: str | None = None,
        context: int = 4096,
        threads: int = 1,
        port: int | None = None,
    ) -> None:
        self.model_path = model_path
        self.alias = alias or model_path.stem
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = Path(tempfile.mkstemp(prefix="llama-server-", suffix=".log")[1])
        command = [
            sys.executable,
            "-u",  # unbuffered: its log shows what it did as it happens
            "-m",
            "llama_cpp.server",
            "--model",
            str(model_path),
            "--model_alias",
            self.alias,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            str(context),
            "--n_threads",
            str(threads),
            "--n_threads_batch",
            str(threads),
            # Its default lets every new request cut the running stream short.
            "--interrupt_requests",
            "False",
        ]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout_s: float = 120.0) -> LlamaServer:
        """Until /v1/models answers; raises RuntimeError (with the server's log) otherwise."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited: {self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/v1/models", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"llama_cpp.server not ready in {timeout_s:.0f} s: {self.log_tail()}")

    def log_tail(self, chars: int = 1500) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    def kill(self) -> None:
        """SIGKILL: the connection drops mid-stream, as when a server crashes."""
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.unlink(missing_ok=True)
