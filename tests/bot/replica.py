"""A bot replica in its own process, for the crash tests: the real bot (Socket Mode) and the
real engine over the scripted model, against a sandbox and a store given on the command line.

    python -m tests.bot.replica --api-url URL --bot-token T --app-token T --database-url URL
        [--answer TEXT] [--step-delay S] [--lease S]

Prints `ready <replica id>` once connected; stops in order when stdin closes (or dies on
SIGKILL, which is the point)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from bench.harness import BotChild, serve_until_stdin_closes
from tests.helpers import REPO


def main() -> int:
    parser = argparse.ArgumentParser()
    for name in ("--api-url", "--bot-token", "--app-token", "--database-url"):
        parser.add_argument(name, required=True)
    parser.add_argument("--answer", default="Scripted answer.")
    parser.add_argument("--step-delay", type=float, default=0.0)
    parser.add_argument("--lease", type=float, default=1.0)
    parser.add_argument("--resume-max-age", type=float, default=600.0)
    parser.add_argument("--settings", default="{}", help="more settings, as JSON")
    args = parser.parse_args()

    from bot.runtime import start_bot
    from deskhand.logs import setup_logging
    from deskhand.settings import Settings
    from tests.bot.scripted import make_scripted_engine, new_script

    setup_logging("WARNING")
    engine = make_scripted_engine(max_running=8, max_queue=256)
    answer = args.answer
    new_script(engine, answer=lambda turns: answer, step_delay_s=args.step_delay)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        slack_bot_token=args.bot_token,
        slack_app_token=args.app_token,
        slack_api_url=args.api_url,
        database_url=args.database_url,
        replica_lease_s=args.lease,
        resume_max_age_s=args.resume_max_age,
        max_new_tokens=20_000,
        kb_dir=None,
        stream_update_interval_s=0.2,
        user_max_in_flight=0,
        **json.loads(args.settings),
    )
    running = start_bot(settings.bot_config(), engine, mode="socket")

    def stop() -> None:
        running.stop()
        engine.shutdown()

    serve_until_stdin_closes(running.services.jobs.owner, stop=stop)
    return 0


def start_replica(sb: Any, database_url: str, **options: Any) -> BotChild:
    """Start one replica against sandbox `sb`; returns once it says it is ready."""
    command = [
        sys.executable, "-m", "tests.bot.replica",
        "--api-url", sb.api_url, "--bot-token", sb.bot_token, "--app-token", sb.app_token,
        "--database-url", database_url,
    ]  # fmt: skip
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        command += [flag, json.dumps(value) if isinstance(value, dict) else str(value)]
    child = BotChild(command, cwd=REPO, name="the replica")
    child.wait_ready()
    return child


def stop_replica(child: BotChild) -> None:
    child.stop()


if __name__ == "__main__":
    sys.exit(main())
