"""`deskhand bench context`: what building the prompt for a follow-up in a long thread costs.

Builds a thread in memory (a parent, then --replies replies of --chars characters, people and
the bot taking turns) and runs the bot's own path from Slack messages to a prompt:
`newest_within` -> `build_conversation` -> `ChatAnswerer.prepare` (fit_to_window) with the
model's real tokenizer. It counts every tokenizer call and the characters it was given, and
times one count of the chosen prompt as the floor to compare with (a ratio measured in the
same run). Prints one JSON line (`--json`) or a short report.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Sequence
from typing import Any

from bot.answer.answerers import ChatAnswerer
from bot.answer.conversation import build_conversation
from bot.answer.reader import MAX_CONTEXT_CHARS, newest_within
from bot.types import BotIdentity, Question
from deskhand.settings import DEFAULT_SYSTEM_PROMPT
from engine import ChatMessage

BOT = BotIdentity(user_id="UBOT", bot_id="BBOT", team_id="T1")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="deskhand bench context", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    parser.add_argument("--model", choices=["tiny", "default"], default="default")
    parser.add_argument("--replies", type=int, default=1_000)
    parser.add_argument("--chars", type=int, default=2_000, help="characters per reply")
    parser.add_argument("--repeat", type=int, default=5)
    return parser.parse_args(argv)


class CountingEngine:
    """The two things ChatAnswerer.prepare uses, with the tokenizer's work counted."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.context_window = engine.context_window
        self.calls = 0
        self.chars = 0

    def count_tokens(self, messages: Sequence[ChatMessage]) -> int:
        self.calls += 1
        self.chars += sum(len(m["content"]) for m in messages)
        return int(self.engine.count_tokens(messages))


def long_thread(replies: int, chars: int) -> list[dict[str, Any]]:
    words = ("printer toner paper jam tray driver queue network settings reset " * chars)[:chars]
    messages: list[dict[str, Any]] = [
        {"type": "message", "user": "U1", "ts": "1000.000001", "text": "The printer is broken."}
    ]
    for i in range(replies):
        author = {"bot_id": BOT.bot_id, "user": BOT.user_id} if i % 2 else {"user": "U2"}
        text = f"reply {i}: {words}"
        messages.append({"type": "message", "ts": f"1001.{i + 2:06d}", "text": text, **author})
    return messages


def measure(engine: Any, args: argparse.Namespace) -> dict[str, Any]:
    messages = long_thread(args.replies, args.chars)
    question = Question("followup", "C1", "U2", "T1", "1002.000001", "And now?", "1000.000001")
    messages.append({"type": "message", "user": "U2", "ts": question.ts, "text": question.text})
    counting = CountingEngine(engine)
    answerer = ChatAnswerer(
        counting,  # type: ignore[arg-type]
        system_prompt=DEFAULT_SYSTEM_PROMPT,
        max_new_tokens=384,
    )
    timings, floor = [], []
    for _ in range(args.repeat):
        counting.calls = counting.chars = 0
        started = time.perf_counter()
        window = newest_within(messages, question.ts, MAX_CONTEXT_CHARS)
        conversation = build_conversation(window, bot=BOT, question_ts=question.ts, names={})
        plan = answerer.prepare(question, conversation)
        timings.append(time.perf_counter() - started)
        started = time.perf_counter()
        prompt_tokens = engine.count_tokens(plan.messages)
        floor.append(time.perf_counter() - started)
    window_chars = sum(len(str(m.get("text"))) for m in window)
    return {
        "bench": "context",
        "model": args.model,
        "replies": args.replies,
        "thread_chars": sum(len(str(m.get("text"))) for m in messages),
        "window_chars": window_chars,
        "budget_tokens": engine.context_window - answerer.max_new_tokens,
        "prompt_tokens": prompt_tokens,
        "turns_kept": len(plan.messages) - 1,
        "turns_omitted": plan.omitted_turns,
        "tokenizer_calls": counting.calls,
        "tokenized_chars": counting.chars,
        "tokenized_per_window_char": round(counting.chars / max(1, window_chars), 3),
        "prepare_ms_median": round(statistics.median(timings) * 1000, 2),
        "one_count_ms_median": round(statistics.median(floor) * 1000, 2),
        "prepare_over_one_count": round(statistics.median(timings) / statistics.median(floor), 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(list(argv or []))
    if args.model == "tiny":
        from engine.testing import make_tiny_engine

        engine: Any = make_tiny_engine(context_window=4096)
    else:
        from deskhand.settings import load_settings
        from engine import start_engine

        engine = start_engine(load_settings().engine_options())
    try:
        result = measure(engine, args)
    finally:
        engine.shutdown()
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>28}: {value}")
    return 0
