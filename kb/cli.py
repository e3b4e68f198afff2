"""`deskhand kb ...` (ingest, ask, eval, report) and `deskhand ask` from the command line.

Owns argument parsing and printing (this is the one kb module that prints). `eval` builds
a throwaway index and feedback store so it never touches the bot's own files.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kb.route import MODES

if TYPE_CHECKING:
    from engine import EngineOptions, GenerationEngine
    from kb.config import KbConfig


@dataclass(frozen=True, slots=True)
class CliConfig:
    """What `deskhand kb` and `deskhand ask` are given: the knowledge base's config, the
    engine's options (started only when a command needs the model) and the log level."""

    kb: KbConfig
    engine: EngineOptions
    log_level: str


logger = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deskhand kb", description="the knowledge base")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("ingest", help="index a directory of Markdown, text and HTML files")
    p.add_argument("dir", type=Path, nargs="?", help="default: KB_DIR")
    p.add_argument("--index", type=Path, help="default: KB_INDEX")
    _ask_arguments(sub.add_parser("ask", help="answer one question, as the bot would"))
    p = sub.add_parser("eval", help="score a question file (sample-kb/questions.jsonl format)")
    p.add_argument("questions", type=Path)
    p.add_argument("--kb", type=Path, required=True, help="knowledge-base directory")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--details", action="store_true", help="also print every item")
    p.add_argument("--mode", choices=MODES, default=None, help="route as this mode (default auto)")
    p = sub.add_parser("report", help="questions most often unanswered or voted down")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--days", type=float, default=None, help="only the last N days")
    p.add_argument("--json", action="store_true")
    return parser


def _ask_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("question")
    p.add_argument("--kb", type=Path, help="ingest this directory first (default: KB_DIR)")
    p.add_argument("--channel", default=None, help="answer as in this channel (its mode, sets)")
    p.add_argument("--mode", choices=MODES, default=None, help="override the channel's mode")
    p.add_argument("--index", type=Path, help="default: KB_INDEX")
    p.add_argument("--no-model", action="store_true", help="route and retrieve, generate nothing")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def ask_main(argv: list[str], config: CliConfig) -> int:
    """`deskhand ask "question" [--kb DIR] [--channel C] [--json]`."""
    parser = _ask_arguments(
        argparse.ArgumentParser(
            prog="deskhand ask", description="route and answer one question, as the bot would"
        )
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=config.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        return _ask(args, config)
    except (FileNotFoundError, ValueError) as err:
        print(f"deskhand ask: {err}", file=sys.stderr)
        return 2


def main(argv: list[str], config: CliConfig) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=config.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    handlers = {"ingest": _ingest, "ask": _ask, "eval": _eval, "report": _report}
    try:
        return handlers[args.cmd](args, config)
    except (FileNotFoundError, ValueError) as err:
        print(f"deskhand kb {args.cmd}: {err}", file=sys.stderr)
        return 2


def _ingest(args: argparse.Namespace, config: CliConfig) -> int:
    from kb.embedder import Embedder
    from kb.ingest import ingest_dir
    from kb.store import IndexStore

    source = args.dir or config.kb.kb_dir
    if source is None:
        print("deskhand kb ingest: give a directory or set KB_DIR", file=sys.stderr)
        return 2
    store = IndexStore(args.index or config.kb.kb_index)
    report = ingest_dir(source, store, Embedder(config.kb.kb_embedding_model), progress=True)
    print(f"{source}: {report.summary()} -> {args.index or config.kb.kb_index}")
    return 0


def _ask(args: argparse.Namespace, config: CliConfig) -> int:
    from kb.ask import answer
    from kb.desk import SupportDesk

    index = args.index or config.kb.kb_index
    if args.kb is None and config.kb.kb_dir is None and not Path(index).exists():
        raise ValueError("no knowledge base: give --kb DIR or set KB_DIR")
    engine = None if args.no_model else _start_engine(config.engine)
    try:
        desk = SupportDesk.open(config.kb, engine, index_path=args.index, kb_dir=args.kb)
        got = answer(desk, engine, args.question, [], args.channel, mode=args.mode)
        desk.close()
    finally:
        if engine is not None:
            engine.shutdown()
    if args.json:
        print(json.dumps(got.as_json(), ensure_ascii=False))
        return 0
    print(got.text)
    plan = got.plan
    detail = f"route {got.route} ({got.decision.reason})"
    if got.final is not None and plan is not None:
        detail += f"; {got.tier}, confidence {plan.confidence:.2f}"
        detail += f"; standalone: {plan.standalone_question!r}"
    print(f"\n[{detail}]", file=sys.stderr)
    return 0


def _eval(args: argparse.Namespace, config: CliConfig) -> int:
    from kb.desk import SupportDesk
    from kb.evaluate import load_questions, result_rows, run_item, summarize

    items = load_questions(args.questions)
    engine = _start_engine(config.engine)
    with tempfile.TemporaryDirectory(prefix="deskhand-eval-") as tmp:
        local = replace(
            config.kb, feedback_url=f"sqlite:///{Path(tmp) / 'feedback.sqlite'}", kb_dir=None
        )
        desk = SupportDesk.open(
            local,
            engine,
            index_path=Path(tmp) / "index.sqlite",
            kb_dir=args.kb,
            progress=not args.json,
        )
        results = [run_item(desk, engine, item, args.mode) for item in items]
        desk.close()
    engine.shutdown()
    summary = summarize(results)
    summary = {
        "questions": str(args.questions),
        "kb": str(args.kb),
        "model": _model_name(engine),
        **summary,
    }
    if args.details:
        summary["items"] = result_rows(results)
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        _print_summary(summary, results if args.details else [])
    return 0


def _report(args: argparse.Namespace, config: CliConfig) -> int:
    from kb.feedback import FeedbackStore

    since = time.time() - args.days * 86400 if args.days else None
    rows = FeedbackStore.for_config(config.kb).gaps(args.limit, since)
    if args.json:
        print(json.dumps([asdict(r) for r in rows], ensure_ascii=False))
        return 0
    if not rows:
        print("No unanswered or down-voted questions yet.")
        return 0
    print(f"{'unans':>5} {'👎':>3} {'👍':>3} {'asked':>5}  question  [documents retrieved]")
    for r in rows:
        when = datetime.fromtimestamp(r.last_asked).strftime("%Y-%m-%d")
        docs = ", ".join(r.top_docs) or "-"
        print(
            f"{r.unanswered:>5} {r.down_votes:>3} {r.up_votes:>3} {r.asked:>5}  {r.question}"
            f"  [{docs}] (last {when})"
        )
    return 0


def _start_engine(options: EngineOptions) -> GenerationEngine:
    from engine import start_engine

    return start_engine(options)


def _model_name(engine: GenerationEngine) -> str:
    return engine.info.name


def _print_summary(s: dict[str, Any], results: list[Any]) -> None:
    def fmt(v: Any) -> str:
        return "-" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)

    print(f"{s['questions']} on {s['kb']} with {s['model']}")
    head = ("group", "n", "hit@1", "hit@3", "answer", "abstain", "offtopic", "refused", "tiers")
    print("{:<14}{:>4}{:>8}{:>8}{:>8}{:>9}{:>9}{:>9}  {}".format(*head))
    groups = (
        [("all", s)]
        + [(f"kind:{k}", v) for k, v in s["by_kind"].items()]
        + [(f"lang:{k}", v) for k, v in s["by_lang"].items()]
    )
    for name, g in groups:
        tiers = " ".join(f"{k}={v}" for k, v in sorted(g["tiers"].items()))
        print(
            f"{name:<14}{g['n']:>4}{fmt(g['hit@1']):>8}{fmt(g['hit@3']):>8}"
            f"{fmt(g['answer_accuracy']):>8}{fmt(g['abstain_accuracy']):>9}"
            f"{fmt(g['off_topic_accuracy']):>9}{fmt(g['false_refusals']):>9}  {tiers}"
        )
    lead = s["lead_in"]
    print(f"lead-in: the model's sentence kept {lead['kept']}, replaced {lead['replaced']}")
    lat = s["latency_s"]
    print(
        f"latency per question: p50 {lat['p50']:.2f} s, p95 {lat['p95']:.2f} s, "
        f"mean {lat['mean']:.2f} s"
    )
    for r in results:
        mark = "ok " if r.correct else "BAD"
        print(f"\n{mark} {r.id} [{r.kind}/{r.lang}, {r.route}, {r.tier}] docs={r.docs[:3]}")
        print(r.answer)
