"""The `deskhand` command: one entry point, one subcommand per job.

Subcommands import their modules lazily, so `deskhand --help` is instant and a subcommand
that needs no model never loads torch.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from deskhand.settings import SettingsError, load_settings
from engine.errors import EngineUnreachable, ModelLoadError

if TYPE_CHECKING:
    from deskhand.settings import Settings
    from kb.cli import CliConfig


def _chat(args: argparse.Namespace) -> int:
    from deskhand.chat import run_chat

    return run_chat(load_settings())


def _bench_engine(args: argparse.Namespace) -> int:
    from bench.engine import main as bench_engine

    return bench_engine(args.bench_args)


def _bench_slack(args: argparse.Namespace) -> int:
    if any(a == "--soak" or a.startswith("--soak=") for a in args.bench_args):
        from bench.soak import main as bench_soak  # steady load with faults injected

        return bench_soak(args.bench_args)
    from bench.slack import main as bench_slack

    return bench_slack(args.bench_args)


def _bench_context(args: argparse.Namespace) -> int:
    from bench.context import main as bench_context

    return bench_context(args.bench_args)


def _up(args: argparse.Namespace) -> int:
    from deskhand.up import run_up

    return run_up(load_settings())


def _run(args: argparse.Namespace) -> int:
    from deskhand.run import run_bot

    return run_bot(load_settings(), mode=args.mode)


def _sandbox(args: argparse.Namespace) -> int:
    from slackemu.main import serve

    settings = load_settings()
    port = args.port if args.port is not None else settings.sandbox_port
    return serve(host=args.host or settings.sandbox_host, port=port)


def _kb(args: argparse.Namespace) -> int:
    from kb.cli import main as kb_main

    return kb_main(args.kb_args, kb_cli_config(load_settings()))


def _usage(args: argparse.Namespace) -> int:
    from bot.usage.cli import main as usage_main

    return usage_main(args.usage_args, load_settings().bot_config())


def _bench_cost(args: argparse.Namespace) -> int:
    from bench.cost import main as bench_cost

    return bench_cost(args.bench_args)


def _ask(args: argparse.Namespace) -> int:
    from kb.cli import ask_main

    return ask_main(args.ask_args, kb_cli_config(load_settings()))


def kb_cli_config(settings: Settings) -> CliConfig:
    """What `deskhand kb` and `deskhand ask` take from the settings."""
    from kb.cli import CliConfig

    return CliConfig(settings.kb_config(), settings.engine_options(), settings.log_level)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deskhand", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def add(
        name: str, func: Callable[[argparse.Namespace], int], help: str
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(func=func)
        return p

    add("up", _up, "run the bot; with no Slack tokens, inside a local Slack workspace")
    p = add("run", _run, "run the bot alone against Slack (or SLACK_API_URL)")
    p.add_argument("--mode", choices=["auto", "socket", "http"], default="auto")
    p = add("sandbox", _sandbox, "run the local Slack workspace alone")
    p.add_argument("--host", default=None)
    p.add_argument("--port", type=int, default=None)
    add("chat", _chat, "talk to the engine in the terminal, streaming")

    bench = sub.add_parser("bench", help="benchmarks that print JSON")
    bench_sub = bench.add_subparsers(dest="bench", required=True)
    for name, func, help in (
        ("engine", _bench_engine, "sequential generate vs the batching engine"),
        ("slack", _bench_slack, "a burst of mentions through the local Slack workspace"),
        ("context", _bench_context, "building the prompt for a follow-up in a long thread"),
        ("cost", _bench_cost, "a mixed burst through the bot: cost per 1,000 answers vs APIs"),
    ):
        b = bench_sub.add_parser(name, help=help, add_help=False)
        b.set_defaults(func=func, passthrough="bench_args")

    p = sub.add_parser("kb", help="knowledge base: ingest, eval, report", add_help=False)
    p.set_defaults(func=_kb, passthrough="kb_args")
    p = sub.add_parser(
        "usage", help="answers, tokens and cost: --since 7d, --json, --csv", add_help=False
    )
    p.set_defaults(func=_usage, passthrough="usage_args")
    p = sub.add_parser(
        "ask", help="route and answer one question, as the bot would", add_help=False
    )
    p.set_defaults(func=_ask, passthrough="ask_args")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # `bench`, `kb` and `usage` hand the rest of the line to their own parsers.
    passthrough = getattr(args, "passthrough", None)
    if passthrough:
        setattr(args, passthrough, extra)
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return int(args.func(args) or 0)
    except SettingsError as err:
        print(f"deskhand: {err}", file=sys.stderr)
        return 2
    except (EngineUnreachable, ModelLoadError) as err:  # e.g. ENGINE_URL is not answering
        print(f"deskhand: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
