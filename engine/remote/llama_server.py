"""A real OpenAI-compatible server on a loopback port: llama.cpp's native `llama-server`
with parallel slots, serving a GGUF (by default the packaged one), for the tests and
`deskhand bench engine --peer llama-server`.

`scripts/ensure-llama-server.sh` builds the binary (portable flags, cached) and links it as
`.venv/bin/llama-server`; `missing_reason()` says why it cannot start here, so tests skip
with that sentence. The server is always a separate process: a crash of llama.cpp ends
that process, never the test run or the bench that started it.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

INSTALL_HINT = "scripts/ensure-llama-server.sh builds it (about 10 minutes on 2 cores)"


def server_binary() -> Path | None:
    """`llama-server` beside this interpreter (the venv's link), else on PATH."""
    beside = Path(sys.executable).parent / "llama-server"
    if beside.exists():
        return beside
    found = shutil.which("llama-server")
    return Path(found) if found else None


def missing_reason() -> str | None:
    """None when `llama-server` runs on this machine, else why not and how to fix it."""
    binary = server_binary()
    if binary is None:
        return f"llama.cpp's llama-server is not built: {INSTALL_HINT}"
    try:
        done = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"{binary} cannot run: {err}"
    if done.returncode != 0:
        return f"{binary} --version failed ({_exit_reason(done.returncode)}): {done.stderr[-300:]}"
    return None


def _exit_reason(returncode: int) -> str:
    if returncode < 0:
        return f"killed by {signal.Signals(-returncode).name}"
    return f"exit {returncode}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LlamaServer:
    """`llama-server` as a child process with `slots` parallel slots (continuous batching
    over them, as llama.cpp's users run it); stop() (or kill()) ends it. Each slot holds up
    to `context` tokens."""

    def __init__(
        self,
        model_path: Path,
        *,
        alias: str | None = None,
        context: int = 4096,
        threads: int = 1,
        slots: int = 4,
        port: int | None = None,
        prompt_cache: bool = True,
    ) -> None:
        binary = server_binary()
        if binary is None:
            raise RuntimeError(f"llama.cpp's llama-server is not built: {INSTALL_HINT}")
        self.model_path = model_path
        self.alias = alias or model_path.stem
        self.slots = slots
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = Path(tempfile.mkstemp(prefix="llama-server-", suffix=".log")[1])
        command = [
            str(binary),
            "--model", str(model_path),
            "--alias", self.alias,
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--ctx-size", str(context * slots),
            "--parallel", str(slots),
            "--threads", str(threads),
            "--threads-batch", str(threads),
            "--no-webui",
            "--jinja",  # the GGUF's own chat template, as transformers applies it
            "--slots",  # GET /slots: which slots are busy (the tests' view of a cancel)
            "--metrics",
        ]  # fmt: skip
        if not prompt_cache:
            command += ["--cache-ram", "0", "--no-cache-prompt"]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout_s: float = 120.0) -> LlamaServer:
        """Until /health says ok; raises RuntimeError (with the server's log) otherwise."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                raise RuntimeError(f"llama-server exited ({_exit_reason(code)}): {self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"llama-server not ready in {timeout_s:.0f} s: {self.log_tail()}")

    def busy_slots(self) -> int:
        """How many slots are generating right now (GET /slots)."""
        slots = httpx.get(f"{self.url}/slots", timeout=5).json()
        return sum(1 for slot in slots if slot.get("is_processing"))

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
