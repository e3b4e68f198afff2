"""`deskhand bench slack`: a burst of mentions through the local Slack emulator, with the engine
saturated, measuring what Slack would see: how fast every event is acked, and whether every
mention gets exactly one answer. Prints one JSON line (`--json`) or a short report.

`--replicas 2` runs two bot processes on one store (a throw-away PostgreSQL when its binaries
are installed, else one SQLite file), both on Socket Mode, and by default `kill -9`s one of
them halfway through the burst and starts it again (`--restarts`): the JSON then says how
many `duplicates` and `unanswered` there were and how many `restarts_survived`.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import logging
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from bench.harness import BotChild, serve_until_stdin_closes
from bot.runtime import start_bot
from bot.slack.blocks import ANSWER_EVENT, NOTICE_EVENT
from deskhand.logs import setup_logging
from deskhand.settings import Settings
from engine import GenerationEngine

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
    parser.add_argument("--replicas", type=int, default=1, help="bot processes on one store")
    parser.add_argument(
        "--restarts",
        type=int,
        default=None,
        help="kill -9 + restart one replica this often during the burst (default: 1 with "
        "several replicas, else 0)",
    )
    parser.add_argument("--database-url", help="the store (default: a throw-away one)")
    parser.add_argument("--lease", type=float, default=3.0, help="REPLICA_LEASE_S")
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

    restarts = args.restarts if args.restarts is not None else int(args.replicas > 1)
    # The emulator (Slack) runs here; the bots and their engines in child processes, as they
    # would on their own servers, so neither side's threads slow the other's clock.
    with bench_store(args.database_url) as (database_url, store_kind):
        sandbox = Sandbox.start(manifest=MANIFEST, seed=bench_seed(args.users, args.channels))
        children: list[BotChild] = []
        try:
            engine: dict[str, Any] = {}
            for _ in range(max(1, args.replicas)):
                children.append(start_child(sandbox, args, database_url))
            for child in children:
                engine = json.loads(child.wait_ready())
            sandbox.wait_for(lambda: sandbox.num_connections() >= len(children), timeout=10)
            gc.freeze()  # the emulator's own full GC passes would be counted as our ack latency
            started = time.monotonic()
            mentions = burst(sandbox, args, children, restarts, database_url)
            burst_s = time.monotonic() - started
            finished = wait_for_answers(sandbox, mentions, args.timeout)
            result = measure(sandbox, mentions)
            result.update(
                burst_s=round(burst_s, 2),
                all_answered_s=round(time.monotonic() - started, 1),
                finished=finished,
                contract_violations=len(sandbox.violations()),
                replicas=len(children),
                restarts=restarts,
                restarts_survived=restarts
                if result["duplicates"] == 0 and result["unanswered"] == 0
                else 0,
                store=store_kind,
                engine=engine,
            )
        finally:
            for child in children:
                child.stop()
            sandbox.stop()
    sys.stdout.write((json.dumps(result) if args.json else report(result)) + "\n")
    exactly_once = result["answered_once"] == result["events"]
    acks_fast = result["acked_within_3s"] == result["events"] and result["ack_p99_ms"] < 100
    return 0 if exactly_once and (acks_fast or restarts) else 1


@contextlib.contextmanager
def bench_store(database_url: str | None) -> Iterator[tuple[str, str]]:
    """The store the bots share: the one given, else a throw-away PostgreSQL cluster (when
    installed), else a SQLite file in a temp dir; (url, "postgresql" | "sqlite")."""
    if database_url:
        yield database_url, make_url_kind(database_url)
        return
    from store.testing import PostgresCluster, PostgresUnavailable

    with tempfile.TemporaryDirectory(prefix="deskhand-bench-") as tmp:
        cluster = PostgresCluster()
        try:
            url = cluster.start()
        except PostgresUnavailable as err:
            logger.warning("no PostgreSQL for the benchmark (%s): using SQLite", err)
            cluster.stop()
            yield f"sqlite:///{Path(tmp) / 'deskhand.sqlite'}", "sqlite"
            return
        try:
            yield url, "postgresql"
        finally:
            cluster.stop()


def make_url_kind(url: str) -> str:
    return "postgresql" if url.startswith("postgres") else "sqlite"


def start_child(sandbox: Any, args: argparse.Namespace, database_url: str) -> BotChild:
    command = [
        sys.executable,
        "-m",
        "bench.slack",
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
        "--database-url",
        database_url,
        "--lease",
        str(args.lease),
    ]
    return BotChild(command, cwd=MANIFEST.parent)


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
        database_url=args.database_url,
        replica_lease_s=args.lease,
        user_max_in_flight=0,  # the burst's users each ask many questions at once
    )
    running = start_bot(settings.bot_config(), engine, mode="socket")

    def stop() -> None:
        running.stop()
        engine.shutdown()

    serve_until_stdin_closes(json.dumps(engine_config(engine, args)), stop=stop)
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
        configured.model_copy(
            update={"max_batch": args.max_running, "max_queue": args.max_queue}
        ).engine_options()
    )


def burst(
    sandbox: Any,
    args: argparse.Namespace,
    children: list[BotChild],
    restarts: int,
    database_url: str,
) -> list[tuple[str, str]]:
    """Post every mention as fast as the emulator takes them; (channel, ts) of each. With
    `restarts`, replica 0 is killed (SIGKILL) and started again at even points of the burst."""
    kill_at = {args.mentions * (k + 1) // (restarts + 1) for k in range(restarts)}
    mentions = []
    restarting: threading.Thread | None = None
    for i in range(args.mentions):
        if i in kill_at:
            if restarting is not None:
                restarting.join()
            children[0].kill()  # no goodbye: its acked questions are left half-answered
            children[0].wait()
            restarting = threading.Thread(
                target=restart_child, args=(children, sandbox, args, database_url)
            )
            restarting.start()  # the burst goes on meanwhile, to the other replicas
        user = f"user{i % args.users:02d}"
        channel = f"bench-{i % args.channels}"
        ts = sandbox.mention(user, channel, f"question {i}: how do I reset my password?")
        mentions.append((channel, ts))
    if restarting is not None:
        restarting.join()
    return mentions


def restart_child(
    children: list[BotChild], sandbox: Any, args: argparse.Namespace, url: str
) -> None:
    child = start_child(sandbox, args, url)
    child.wait_ready()
    children[0] = child


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


def engine_config(engine: GenerationEngine, args: argparse.Namespace) -> dict[str, Any]:
    return {
        "model": engine.info.name,
        "device": engine.info.device,
        "max_running": engine.config.max_running,
        "max_queue": engine.config.max_queue,
        "max_new_tokens": args.max_new_tokens,
    }


def report(result: dict[str, Any]) -> str:
    lines = [f"{key}: {value}" for key, value in result.items()]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
