"""`deskhand bench slack --soak SECONDS [--json]`: steady mentions through the local workspace for
SECONDS, with random Stop clicks, 429s from the Web API and Socket Mode drops injected, against
one bot process (the same child as `deskhand bench slack`). Reports the bot process's RSS and
open file descriptors at the start (after a warm-up) and at the end, answers lost and doubled,
and the ack latency; passes when nothing is lost or doubled and RSS grew less than 10 %.

Loopback only; every loop is bounded (the soak's length, then at most `--drain` seconds for
the last answers, Slack's retries included).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.slack import MANIFEST, bench_seed, measure, replies_by_question, start_child
from deskhand.logs import setup_logging

RSS_GROWTH_LIMIT_PCT = 10.0
FAULT_METHODS = ("chat.postMessage", "chat.update", "chat.appendStream", "chat.startStream")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="deskhand bench slack --soak", description=__doc__)
    parser.add_argument("--soak", type=float, required=True, help="seconds of steady mentions")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    parser.add_argument("--rate", type=float, default=2.0, help="mentions per second")
    parser.add_argument("--warmup", type=float, default=None, help="default: 10 %% of --soak")
    parser.add_argument("--stop-every", type=float, default=10.0, help="mean seconds per Stop")
    parser.add_argument("--429-every", dest="rate_limit_every", type=float, default=15.0)
    parser.add_argument("--drop-every", type=float, default=60.0, help="socket drops")
    parser.add_argument("--drain", type=float, default=420.0, help="seconds for the last answers")
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--channels", type=int, default=5)
    # what the bot child needs (bench.slack's child, bench.harness's protocol)
    parser.add_argument("--model", choices=["tiny", "default"], default="tiny")
    parser.add_argument("--max-new-tokens", type=int, default=160)  # long enough to Stop
    parser.add_argument("--max-running", type=int, default=8)
    parser.add_argument("--max-queue", type=int, default=256)
    parser.add_argument("--lease", type=float, default=3.0)
    return parser.parse_args(argv)


def process_sample(pid: int) -> dict[str, float]:
    """RSS (MiB) and open file descriptors of a process, from /proc."""
    rss_kb = 0
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                rss_kb = int(line.split()[1])
    return {"rss_mb": round(rss_kb / 1024, 1), "fds": len(os.listdir(f"/proc/{pid}/fd"))}


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(list(argv or []))
    setup_logging("WARNING")
    from slackemu import Sandbox

    rng = random.Random(args.seed)
    warmup = args.warmup if args.warmup is not None else 0.1 * args.soak
    with tempfile.TemporaryDirectory(prefix="deskhand-soak-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'deskhand.sqlite'}"
        sandbox = Sandbox.start(manifest=MANIFEST, seed=bench_seed(args.users, args.channels))
        child = start_child(sandbox, args, url)
        try:
            child.wait_ready()
            sandbox.wait_for(lambda: sandbox.num_connections() >= 1, timeout=30)
            result = soak(sandbox, child.process.pid, args, rng, warmup)
        finally:
            child.stop()
            sandbox.stop()
    sys.stdout.write((json.dumps(result) if args.json else _report(result)) + "\n")
    return 0 if result["passed"] else 1


def soak(
    sandbox: Any, pid: int, args: argparse.Namespace, rng: random.Random, warmup: float
) -> dict[str, Any]:
    mentions: list[tuple[str, str]] = []
    stopped: dict[str, str] = {}
    counts = {"stop_clicks": 0, "rate_limits": 0, "socket_drops": 0}
    first = process_sample(pid)
    start: dict[str, float] | None = None
    started = time.monotonic()
    end = started + args.soak
    faults_until = end - min(60.0, 0.2 * args.soak)  # the last minute runs clean
    interval = 1.0 / args.rate
    next_at = started
    i = 0
    while (now := time.monotonic()) < end:
        if start is None and now - started >= warmup:
            start = process_sample(pid)
        if now < next_at:
            time.sleep(min(next_at - now, 0.05))
            continue
        next_at += interval
        channel = f"bench-{i % args.channels}"
        user = f"user{i % args.users:02d}"
        mentions.append((channel, sandbox.mention(user, channel, f"soak {i}: tell me more")))
        i += 1
        if now >= faults_until:
            continue
        if rng.random() < interval / args.stop_every:
            counts["stop_clicks"] += stop_one(sandbox, mentions[-5:], stopped)
        if rng.random() < interval / args.rate_limit_every:
            sandbox.inject(rng.choice(FAULT_METHODS), status=429, retry_after=1)
            counts["rate_limits"] += 1
        if rng.random() < interval / args.drop_every:
            sandbox.drop_sockets()
            counts["socket_drops"] += 1
    soak_s = time.monotonic() - started
    drained = drain(sandbox, mentions, args.drain, stopped)
    end_sample = process_sample(pid)
    start = start or first
    result = measure(sandbox, mentions)
    per_question = [answers_started(sandbox, c, ts, stopped)[0] for c, ts in mentions]
    result["answered_once"] = sum(1 for n in per_question if n == 1)
    result["duplicates"] = sum(n - 1 for n in per_question if n > 1)
    result["unanswered"] = sum(1 for n in per_question if n == 0)
    growth = 100.0 * (end_sample["rss_mb"] - start["rss_mb"]) / max(start["rss_mb"], 1.0)
    result.update(
        soak_s=round(soak_s, 1),
        mentions_per_s=args.rate,
        drained=drained,
        **counts,
        rss_first_mb=first["rss_mb"],
        rss_start_mb=start["rss_mb"],
        rss_end_mb=end_sample["rss_mb"],
        rss_growth_pct=round(growth, 1),
        fds_start=int(start["fds"]),
        fds_end=int(end_sample["fds"]),
        warmup_s=round(warmup, 1),
        contract_violations=len(sandbox.violations()),
    )
    result["lost_examples"] = lost_examples(sandbox, mentions, stopped)
    result["violations"] = sandbox.violations()[:5]
    result["lost"] = result["unanswered"]
    result["doubled"] = result["duplicates"]
    result["passed"] = (
        drained and result["lost"] == 0 and result["doubled"] == 0 and growth < RSS_GROWTH_LIMIT_PCT
    )
    return result


def stop_one(sandbox: Any, recent: list[tuple[str, str]], stopped: dict[str, str]) -> int:
    """Press Stop on a reply still streaming among the recent questions; 1 if one was.
    `stopped` maps the question's ts to the stopped reply's (an answer as the user left it)."""
    for channel, ts in reversed(recent):
        for message in sandbox.thread(channel, ts)[1:]:
            if message.get("user") == sandbox.bot_user_id and sandbox.is_streaming(
                channel, message["ts"]
            ):
                try:
                    sandbox.stop_stream(channel, message["ts"])
                except Exception:  # it ended meanwhile
                    return 0
                stopped[ts] = str(message["ts"])
                return 1
    return 0


def answers_started(
    sandbox: Any, channel: str, ts: str, stopped: dict[str, str]
) -> tuple[int, bool]:
    """replies_by_question, counting a reply the user stopped mid-stream as one answer (Slack
    ends such a stream as it is: the bot can write nothing more into it, metadata included)."""
    started, writing = replies_by_question(sandbox, channel, ts)
    reply = stopped.get(ts)
    if reply is not None and not sandbox.is_streaming(channel, reply):
        others = [
            m
            for m in sandbox.thread(channel, ts)[1:]
            if m.get("user") == sandbox.bot_user_id and m["ts"] != reply
        ]
        if not others:
            return started + 1, False
    return started, writing


def lost_examples(
    sandbox: Any, mentions: list[tuple[str, str]], stopped: dict[str, str], limit: int = 3
) -> list[Any]:
    """For a few questions without an answer: what their deliveries did, and the thread."""
    examples = []
    for channel, ts in mentions:
        started, writing = answers_started(sandbox, channel, ts, stopped)
        if started:
            continue
        deliveries = [
            (d.kind, d.event_type, d.attempt, d.outcome)
            for d in sandbox.deliveries("events_api")
            if d.payload.get("event", {}).get("ts") == ts
        ]
        thread = [
            (m.get("user"), (m.get("metadata") or {}).get("event_type"), str(m.get("text"))[:60])
            for m in sandbox.thread(channel, ts)[1:]
        ]
        examples.append({"ts": ts, "writing": writing, "deliveries": deliveries, "thread": thread})
        if len(examples) >= limit:
            break
    return examples


def drain(
    sandbox: Any, mentions: list[tuple[str, str]], timeout: float, stopped: dict[str, str]
) -> bool:
    """Wait until every question has its reply and none is still being written."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = [answers_started(sandbox, c, ts, stopped) for c, ts in mentions]
        if all(n >= 1 and not writing for n, writing in states):
            time.sleep(2.0)  # room for a late duplicate
            return True
        time.sleep(2.0)
    return False


def _report(result: dict[str, Any]) -> str:
    return "\n".join(f"{key}: {value}" for key, value in result.items())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
