"""Run the local Slack workspace alone until Ctrl-C: `deskhand sandbox` or `python -m slackemu`.

Reads `manifest.json` from the repository root when present (the same manifest the real app
uses), otherwise slackemu's default manifest, and prints the UI URL and the tokens a bot
should be started with.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from slackemu.control_api import exposure_warning
from slackemu.emulator import Emulator
from slackemu.server import EmulatorServer

logger = logging.getLogger(__name__)

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REPO_MANIFEST = Path(__file__).resolve().parents[1] / "manifest.json"


def serve(
    host: str | None = None,
    port: int | None = None,
    *,
    manifest: str | Path | None = None,
    seed: str | Path | None = None,
    request_url: str | None = None,
) -> int:
    """Serve until interrupted on host:port (default 127.0.0.1:8765; `deskhand sandbox` passes
    SANDBOX_HOST and SANDBOX_PORT); returns the process exit code."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    host = host or "127.0.0.1"
    port = port if port is not None else 8765
    warning = exposure_warning(host)
    if warning:
        logger.warning("*** WARNING: %s ***", warning)
    if manifest is None and REPO_MANIFEST.is_file():
        manifest = REPO_MANIFEST
    emu = Emulator(manifest=manifest, seed=seed, request_url=request_url)
    try:
        asyncio.run(_serve_forever(emu, host, port, manifest))
    except KeyboardInterrupt:
        pass
    except OSError as err:
        sys.stderr.write(f"slackemu: cannot listen on {host}:{port}: {err}\n")
        return 1
    return 0


async def _serve_forever(emu: Emulator, host: str, port: int, manifest: str | Path | None) -> None:
    server = EmulatorServer(emu, host, port)
    await server.start()
    _announce(emu, manifest)
    stopping = asyncio.Event()
    with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    try:
        await stopping.wait()
    finally:
        await server.stop()


def _announce(emu: Emulator, manifest: str | Path | None) -> None:
    delivery = (
        "Socket Mode" if emu.app.socket_mode_enabled else f"HTTP to {emu.app.event_request_url}"
    )
    lines = [
        "Local Slack emulator: not connected to Slack.",
        f"  Open the workspace:   {emu.base_url}/",
        f"  Web API base URL:     {emu.base_url}/api/",
        f"  SLACK_BOT_TOKEN={emu.creds.bot_token}",
        f"  SLACK_APP_TOKEN={emu.creds.app_token}",
        f"  SLACK_SIGNING_SECRET={emu.creds.signing_secret}",
        f"  SLACK_API_URL={emu.base_url}/api/",
        f"  App manifest:         {manifest or 'slackemu default'} ({delivery})",
        "Press Ctrl-C to stop.",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()
    for problem in emu.contract.violations():
        logger.warning("%s", problem)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m slackemu", description=__doc__)
    parser.add_argument("--host", default=None, help="default: 127.0.0.1")
    parser.add_argument("--port", type=int, default=None, help="default: 8765")
    parser.add_argument("--manifest", default=None, help="Slack app manifest JSON")
    parser.add_argument("--seed", default=None, help="workspace seed JSON")
    parser.add_argument("--request-url", default=None, help="deliver over HTTP to this URL")
    args = parser.parse_args(argv)
    return serve(
        args.host, args.port, manifest=args.manifest, seed=args.seed, request_url=args.request_url
    )
