"""`deskhand bench slack`: a burst of mentions through the local Slack emulator, with the engine
saturated, measuring what Slack would see: how fast every event is acked, and whether every
mention gets exactly one answer. Prints one JSON line (`--json`) or a short report.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.blocks import ANSWER_EVENT, NOTICE_EVENT
from bot.runtime import start_bot
from deskhand.logs import setup_logging
from deskhand.settings import Settings

logger = logging.getLogger(__name__)

MANIFEST = Path(__file__).resolve().parents[1] / "manifest.json"
ACK_DEADLINE_MS = 3_000.0


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="deskhand bench slack", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    parser.add_argument(
        "--model",
        choices=["tiny", "default"],
        default="tiny",
        help="tiny random model (fast) or the configured default model",
    )
    parser.add_argument("--mentions", type=int, default=200)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--channels", type=int, default=5)
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--max-running", type=int, default=8, help="engine batch size")
    parser.add_argument("--max-queue", type=int, default=256, help="engine queue size")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for all")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    for name in ("--api-url", "--bot-token", "--app-token"):
        parser.add_argument(name, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(list(argv or []))
    setup_logging("WARNING")
    if args.child:
        return run_child(args)
    from slackemu import Sandbox

    # The emulator (Slack) runs here; the bot and its engine in a child process, as they
    # would on their own server, so neither side's threads slow the other's clock.
    sandbox = Sandbox.start(manifest=MANIFEST, seed=bench_seed(args.users, args.channels))
    child = start_child(sandbox, args)
    try:
        engine = json.loads(wait_until_ready(child))
        sandbox.wait_for(lambda: sandbox.num_connections() >= 1, timeout=10)
        gc.freeze()  # the emulator's own full GC passes would be counted as our ack latency
        started = time.monotonic()
        mentions = burst(sandbox, args)
        burst_s = time.monotonic() - started
        finished = wait_for_answers(sandbox, mentions, args.timeout)
        result = measure(sandbox, mentions)
        result.update(
            burst_s=round(burst_s, 2),
            all_answered_s=round(time.monotonic() - started, 1),
            finished=finished,
            contract_violations=len(sandbox.violations()),
            engine=engine,
        )
    finally:
        stop_child(child)
        sandbox.stop()
    sys.stdout.write((json.dumps(result) if args.json else report(result)) + "\n")
    passed = (
        result["acked_within_3s"] == result["events"]
        and result["ack_p99_ms"] < 100
        and result["answered_once"] == result["events"]
    )
    return 0 if passed else 1


def start_child(sandbox: Any, args: argparse.Namespace) -> subprocess.Popen[str]:
    command = [
        sys.executable,
        "-m",
        "bot.bench",
        "--child",
        "--model",
        args.model,
        "--max-new-tokens",
        str(args.max_new_tokens),
        "--max-running",
        str(args.max_running),
        "--max-queue",
        str(args.max_queue),
        "--api-url",
        sandbox.api_url,
        "--bot-token",
        sandbox.bot_token,
        "--app-token",
        sandbox.app_token,
    ]
    return subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=str(MANIFEST.parent)
    )


def wait_until_ready(child: subprocess.Popen[str]) -> str:
    assert child.stdout is not None
    line = child.stdout.readline()
    if not line.startswith("ready "):
        raise RuntimeError(f"the bot process did not start (exit code {child.poll()})")
    return line.removeprefix("ready ")


def stop_child(child: subprocess.Popen[str]) -> None:
    if child.stdin is not None:
        child.stdin.close()  # the child stops when its stdin closes
    try:
        child.wait(timeout=30)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def run_child(args: argparse.Namespace) -> int:
    """The bot side: engine and bot until the parent closes our stdin."""
    engine = start_bench_engine(args)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        slack_bot_token=args.bot_token,
        slack_app_token=args.app_token,
        slack_api_url=args.api_url,
        max_new_tokens=args.max_new_tokens,
        kb_dir=None,
        data_dir=Path(tempfile.mkdtemp(prefix="deskhand-bench-")),  # not the user's store
    )
    running = start_bot(settings, engine, mode="socket")
    try:
        sys.stdout.write("ready " + json.dumps(engine_config(engine, args)) + "\n")
        sys.stdout.flush()
        sys.stdin.read()
    finally:
        running.stop()
        engine.shutdown()
    return 0


def bench_seed(users: int, channels: int) -> dict[str, Any]:
    return {
        "users": [{"name": f"user{i:02d}", "real_name": f"Bench User {i}"} for i in range(users)],
        "other_bots": [],
        "channels": [
            {"name": f"bench-{c}", "members": "*", "bot": True, "is_general": c == 0}
            for c in range(channels)
        ],
    }


def start_bench_engine(args: argparse.Namespace) -> Any:
    if args.model == "tiny":
        from engine.model.loader import choose_device, choose_threads, use_threads
        from engine.testing import make_tiny_engine

        # The same policy as the real engine: every core but one for torch.
        use_threads(choose_device("cpu"), choose_threads(0))
        return make_tiny_engine(
            max_running=args.max_running, max_queue=args.max_queue, dtype="float32"
        )
    from deskhand.settings import load_settings
    from engine import start_engine

    configured = load_settings()
    return start_engine(
        configured.model_copy(update={"max_batch": args.max_running, "max_queue": args.max_queue})
    )


def burst(sandbox: Any, args: argparse.Namespace) -> list[tuple[str, str]]:
    """Post every mention as fast as the emulator takes them; (channel, ts) of each."""
    mentions = []
    for i in range(args.mentions):
        user = f"user{i % args.users:02d}"
        channel = f"bench-{i % args.channels}"
        ts = sandbox.mention(user, channel, f"question {i}: how do I reset my password?")
        mentions.append((channel, ts))
    return mentions


def replies_by_question(sandbox: Any, channel: str, ts: str) -> tuple[int, bool]:
    """(how many answers or notices the bot started for this question, any still writing)."""
    started, writing = 0, False
    for message in sandbox.thread(channel, ts)[1:]:
        if message.get("user") != sandbox.bot_user_id:
            continue
        metadata = message.get("metadata") or {}
        payload = metadata.get("event_payload") or {}
        if metadata.get("event_type") is None or payload.get("streaming"):
            writing = True  # a live stream, or a message still being edited
        kind = metadata.get("event_type")
        if (kind == ANSWER_EVENT and payload.get("part") == 0) or kind == NOTICE_EVENT:
            started += 1
    return started, writing


def wait_for_answers(sandbox: Any, mentions: list[tuple[str, str]], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = [replies_by_question(sandbox, c, ts) for c, ts in mentions]
        if all(n >= 1 and not writing for n, writing in states):
            time.sleep(1.0)  # let any late duplicate show itself
            return True
        time.sleep(1.0)
    return False


def measure(sandbox: Any, mentions: list[tuple[str, str]]) -> dict[str, Any]:
    acks = {ack.envelope_id: ack for ack in sandbox.acks()}
    by_question: dict[str, list[float | None]] = {ts: [] for _, ts in mentions}
    retries = 0
    for delivery in sandbox.deliveries("events_api"):
        ts = delivery.payload.get("event", {}).get("ts")
        if ts not in by_question:
            continue
        if delivery.attempt > 0:
            retries += 1
            continue
        ack = acks.get(delivery.envelope_id or "")
        by_question[ts].append(
            None if ack is None or ack.late else (ack.at - delivery.sent_at) * 1000
        )
    latencies = [ms for values in by_question.values() for ms in values if ms is not None]
    within = sum(
        1
        for values in by_question.values()
        if values and all(ms is not None and ms <= ACK_DEADLINE_MS for ms in values)
    )
    counts = [replies_by_question(sandbox, c, ts)[0] for c, ts in mentions]
    return {
        "events": len(mentions),
        "deliveries": sum(len(v) for v in by_question.values()),
        "acked_within_3s": within,
        "ack_p50_ms": round(percentile(latencies, 50), 1),
        "ack_p99_ms": round(percentile(latencies, 99), 1),
        "ack_max_ms": round(max(latencies, default=0.0), 1),
        "retries": retries,
        "answered_once": sum(1 for n in counts if n == 1),
        "duplicates": sum(n - 1 for n in counts if n > 1),
        "unanswered": sum(1 for n in counts if n == 0),
        "busy_replies": busy_count(sandbox, mentions),
    }


def busy_count(sandbox: Any, mentions: list[tuple[str, str]]) -> int:
    count = 0
    for channel, ts in mentions:
        for message in sandbox.thread(channel, ts)[1:]:
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            count += payload.get("kind") == "busy"
    return count


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return (
        statistics.quantiles(values, n=100, method="inclusive")[int(pct) - 1]
        if pct < 100
        else max(values)
    )


def engine_config(engine: Any, args: argparse.Namespace) -> dict[str, Any]:
    info = getattr(engine, "info", None)
    return {
        "model": getattr(info, "name", args.model),
        "device": getattr(info, "device", "?"),
        "max_running": engine.config.max_running,
        "max_queue": engine.config.max_queue,
        "max_new_tokens": args.max_new_tokens,
    }


def report(result: dict[str, Any]) -> str:
    lines = [f"{key}: {value}" for key, value in result.items()]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
