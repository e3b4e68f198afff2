"""`deskhand bench cost`: what answers cost. A realistic mixed burst — the sample knowledge
base's questions plus general questions — goes through the real bot (over Socket Mode, in a
child process) against the local Slack emulator. Prints the answers, the engine's busy
seconds, the cost per 1,000 answers at `--price-per-hour`, and what the same tokens would
have cost per 1,000 answers at each hosted API in the price table. One JSON line with --json.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.harness import BotChild, serve_until_stdin_closes
from bench.slack import (
    MANIFEST,
    bench_seed,
    percentile,
    report,
    wait_for_answers,
)
from bot.usage.log import UsageLog
from bot.usage.prices import api_equivalent_per_1k, api_prices
from deskhand.logs import setup_logging
from deskhand.settings import Settings
from store import Store, database_url

logger = logging.getLogger(__name__)

REPO = MANIFEST.parent
SAMPLE_KB = REPO / "sample-kb"
# Everyday questions a support channel also gets, beside the knowledge base's own.
GENERAL_QUESTIONS = (
    "Can you write a polite reply to a customer whose order is late?",
    "What's a good way to explain a refund delay to a frustrated customer?",
    "Summarise the difference between a warranty and a guarantee in two sentences.",
    "How do I write a short apology email for a missed call?",
    "Give me three tips for a clear bug report.",
    "What should I ask a customer whose bike makes a clicking noise?",
    "Translate 'your order has shipped' into French and German.",
    "Write a one-line status update for a delayed delivery.",
    "How do I politely ask a customer for their order number?",
    "What is a good subject line for a recall notice?",
)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="deskhand bench cost", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    parser.add_argument(
        "--model",
        choices=["tiny", "default"],
        default="default",
        help="the configured model (default) or the tiny random model (fast, for smoke tests)",
    )
    parser.add_argument("--price-per-hour", type=float, default=None, help="COST_PER_HOUR")
    parser.add_argument("--currency", default=None, help="COST_CURRENCY")
    parser.add_argument("--general", type=int, default=len(GENERAL_QUESTIONS))
    parser.add_argument("--kb-questions", type=int, default=None, help="default: all")
    parser.add_argument("--no-kb", action="store_true", help="plain chat answers only")
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--max-running", type=int, default=8, help="engine batch size")
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds to wait for all")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    for name in ("--api-url", "--bot-token", "--app-token", "--work-dir"):
        parser.add_argument(name, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(list(argv or []))
    setup_logging("WARNING")
    if args.child:
        return run_child(args)
    from deskhand.settings import load_settings
    from slackemu import Sandbox

    configured = load_settings()
    price = configured.cost_per_hour if args.price_per_hour is None else args.price_per_hour
    currency = args.currency or configured.cost_currency
    questions = mixed_questions(args)
    work = Path(tempfile.mkdtemp(prefix="deskhand-bench-cost-"))  # the bot's store lives here
    sandbox = Sandbox.start(manifest=MANIFEST, seed=bench_seed(10, 2))
    child = start_child(sandbox, args, work)
    try:
        engine = json.loads(child.wait_ready())
        sandbox.wait_for(lambda: sandbox.num_connections() >= 1, timeout=30)
        gc.freeze()
        started = time.monotonic()
        mentions = [
            (f"bench-{i % 2}", sandbox.mention(f"user{i % 10:02d}", f"bench-{i % 2}", text))
            for i, (_, text) in enumerate(questions)
        ]
        finished = wait_for_answers(sandbox, mentions, args.timeout)
        wall_s = time.monotonic() - started
        violations = len(sandbox.violations())
    finally:
        stats = finish_child(child)
        sandbox.stop()
    result = measure(work, questions)
    busy_s = stats.get("busy_s", 0.0) - engine.pop("busy_s", 0.0)
    answers = result["answers"]
    result.update(
        engine_busy_s=round(busy_s, 3),
        wall_s=round(wall_s, 2),
        utilisation=round(busy_s / wall_s, 3) if wall_s else None,
        price_per_hour=price,
        currency=currency,
        cost_per_1k_answers=round(busy_s * price / 3600 / answers * 1000, 6) if answers else None,
        cost_per_1k_all_in=round(wall_s * price / 3600 / answers * 1000, 6) if answers else None,
        finished=finished,
        contract_violations=violations,
        engine=engine,
    )
    sys.stdout.write((json.dumps(result) if args.json else report(result)) + "\n")
    return 0 if finished and answers == len(questions) and not violations else 1


def mixed_questions(args: argparse.Namespace) -> list[tuple[str, str]]:
    """(kind, text) pairs, knowledge-base and general questions interleaved."""
    kb: list[str] = []
    if not args.no_kb:
        lines = (SAMPLE_KB / "questions.jsonl").read_text(encoding="utf-8").splitlines()
        kb = [json.loads(line)["question"] for line in lines if line.strip()]
        kb = kb[: args.kb_questions] if args.kb_questions is not None else kb
    general = [GENERAL_QUESTIONS[i % len(GENERAL_QUESTIONS)] for i in range(args.general)]
    mixed: list[tuple[str, str]] = []
    for i in range(max(len(kb), len(general))):
        if i < len(kb):
            mixed.append(("kb", kb[i]))
        if i < len(general):
            mixed.append(("general", general[i]))
    return mixed


def measure(work: Path, questions: list[tuple[str, str]]) -> dict[str, Any]:
    """What the bot recorded in its store: answers, tokens, latency, hosted-API equivalents."""
    store = Store.open(database_url(None, work))
    try:
        rows = UsageLog(store).answers(0)
    finally:
        store.close()
    prompt = sum(r.prompt_tokens for r in rows)
    output = sum(r.output_tokens for r in rows)
    latencies = sorted(r.answer_s for r in rows)
    equivalents = api_equivalent_per_1k(prompt, output, len(rows), api_prices())
    return {
        "questions": len(questions),
        "kb_questions": sum(1 for kind, _ in questions if kind == "kb"),
        "general_questions": sum(1 for kind, _ in questions if kind == "general"),
        "answers": len(rows),
        "prompt_tokens": prompt,
        "output_tokens": output,
        "engine_share_s": round(sum(r.engine_s for r in rows), 3),
        "latency_p50_s": round(percentile(latencies, 50), 2),
        "latency_p95_s": round(percentile(latencies, 95), 2),
        "api_equivalent_per_1k": {name: round(value, 4) for name, value in equivalents.items()},
    }


def start_child(sandbox: Any, args: argparse.Namespace, work: Path) -> BotChild:
    command = [sys.executable, "-m", "bench.cost", "--child", "--model", args.model]
    command += ["--max-new-tokens", str(args.max_new_tokens)]
    command += ["--max-running", str(args.max_running)]
    command += ["--work-dir", str(work), "--api-url", sandbox.api_url]
    command += ["--bot-token", sandbox.bot_token, "--app-token", sandbox.app_token]
    if args.no_kb:
        command.append("--no-kb")
    return BotChild(command, cwd=REPO)


def finish_child(child: BotChild) -> dict[str, Any]:
    """Close the child's stdin; it answers with its engine's final stats, then stops."""
    child.close_stdin()
    line = child.last_line("stats ")
    stats: dict[str, Any] = json.loads(line) if line is not None else {}
    child.stop()
    return stats


def run_child(args: argparse.Namespace) -> int:
    """The bot side: engine, knowledge base and bot until the parent closes our stdin."""
    from bench.slack import engine_config, start_bench_engine
    from bot.runtime import start_bot

    args.max_queue = 256
    engine = start_bench_engine(args)
    work = Path(args.work_dir)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        slack_bot_token=args.bot_token,
        slack_app_token=args.app_token,
        slack_api_url=args.api_url,
        max_new_tokens=args.max_new_tokens,
        kb_dir=None if args.no_kb else SAMPLE_KB / "kb",
        kb_index=work / "kb.sqlite",
        kb_feedback_db=work / "feedback.sqlite",
        data_dir=work,
        user_max_in_flight=0,  # the burst's people each ask several questions at once
    )
    running = start_bot(settings.bot_config(), engine, mode="socket")

    def stop() -> None:
        running.stop()
        engine.shutdown()

    def stats() -> str:
        return "stats " + json.dumps({"busy_s": engine.stats().busy_s})

    try:
        ready = engine_config(engine, args) | {
            "answerer": running.services.answerer.name,
            "busy_s": engine.stats().busy_s,
        }
    except BaseException:
        stop()
        raise
    serve_until_stdin_closes(json.dumps(ready), stop=stop, goodbye=stats)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
