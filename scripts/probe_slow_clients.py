"""Measure HTTP mode under never-idle slow clients at full scale, on loopback (issue 18):

    PYTHONPATH=. python scripts/probe_slow_clients.py [--clients 1010] [--mentions 8] [--json]

The real bot in HTTP mode with the default HTTP limits (HTTP_CONNECTION_LIMIT 1000, ...) and
the scripted model, the local workspace delivering signed events over HTTP (with Slack's
retries), and, in a child process, CLIENTS clients that each send one header byte a second and
reconnect whenever the server closes them. Reports the deliveries acked, their ack latency,
/healthz latency, and how many attacker connections the guard closed. Bounded: the attack
runs for `--seconds` and every loop ends.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ATTACKER = r"""
import socket, sys, time
port, count, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
socks = [None] * count
connects = closed = refused = 0
end = time.monotonic() + seconds
while time.monotonic() < end:
    tick = time.monotonic()
    for i in range(count):
        s = socks[i]
        if s is None:
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=0.2)
                s.setblocking(False)
                s.send(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                socks[i] = s
                connects += 1
            except OSError:
                refused += 1
            continue
        try:
            if s.recv(1, socket.MSG_PEEK) == b"":
                raise ConnectionResetError
        except BlockingIOError:
            pass
        except OSError:
            s.close(); socks[i] = None; closed += 1; continue
        try:
            s.send(b"a")
        except OSError:
            s.close(); socks[i] = None; closed += 1
    time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
print(f"{connects} {closed} {refused} {sum(s is not None for s in socks)}")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=1010)
    parser.add_argument("--mentions", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from bot.runtime import start_bot
    from deskhand.logs import setup_logging
    from deskhand.settings import Settings
    from slackemu import Sandbox
    from tests.bot.scripted import make_scripted_engine, new_script

    setup_logging("WARNING")
    port = free_port()
    repo = Path(__file__).resolve().parents[1]
    sb = Sandbox.start(
        manifest=repo / "manifest.json", request_url=f"http://127.0.0.1:{port}/slack/events"
    )
    engine = make_scripted_engine(max_running=8, max_queue=64)
    new_script(engine, answer=lambda turns: "Still answering.")
    data = tempfile.mkdtemp(prefix="deskhand-probe-")
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        slack_bot_token=sb.bot_token,
        slack_signing_secret=sb.signing_secret,
        slack_api_url=sb.api_url,
        port=port,
        kb_dir=None,
        data_dir=data,
        max_new_tokens=64,
    )  # HTTP limits: the defaults
    bot = start_bot(settings, engine, mode="http")
    attacker = subprocess.Popen(
        [sys.executable, "-c", ATTACKER, str(port), str(args.clients), str(args.seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(15.0)  # every attacker connected and trickling, past the request deadline
        health_s: list[float] = []
        health_failed = 0
        asked: list[str] = []
        for _ in range(args.mentions):
            asked.append(sb.mention("ada", "support", "are you there?"))
            for _ in range(3):
                started = time.monotonic()
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5):
                        health_s.append(time.monotonic() - started)
                except OSError:
                    health_failed += 1
                time.sleep(0.33)
        time.sleep(5.0)
        deliveries = [
            d
            for d in sb.deliveries("events_api")
            if d.payload.get("event", {}).get("ts") in asked
            and d.payload["event"].get("type") == "app_mention"
        ]
        first = {}
        for d in deliveries:
            first.setdefault(d.payload["event"]["ts"], d)
        acked_first_try = sum(d.outcome == "acked" for d in first.values())
        answered = sum(1 for ts in asked if len(sb.thread("support", ts)) > 1)
        counts = bot.http_server.guard_counts() if bot.http_server else {}
    finally:
        attacker.wait(args.seconds + 30)
        out = attacker.stdout.read().split() if attacker.stdout else []
        bot.stop()
        engine.shutdown()
        sb.stop()
    connects, closed, refused, still_open = (int(x) for x in out) if out else (0, 0, 0, 0)
    result = {
        "clients": args.clients,
        "connection_limit": settings.http_connection_limit,
        "reserve": settings.http_connection_reserve,
        "request_timeout_s": settings.http_request_timeout_s,
        "mentions": args.mentions,
        "acked_first_try": acked_first_try,
        "delivery_attempts": len(deliveries),
        "answered": answered,
        "healthz_ok": len(health_s),
        "healthz_failed": health_failed,
        "healthz_p50_ms": round(statistics.median(health_s) * 1000, 1) if health_s else None,
        "healthz_max_ms": round(max(health_s) * 1000, 1) if health_s else None,
        "attacker_connects": connects,
        "attacker_closed_by_server": closed,
        "attacker_refused": refused,
        "attacker_open_at_end": still_open,
        "guard": counts,
    }
    print(json.dumps(result, indent=None if args.json else 2))
    return 0 if acked_first_try == args.mentions and not health_failed else 1


if __name__ == "__main__":
    sys.exit(main())
