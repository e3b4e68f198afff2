"""The bot child of `deskhand up` (deskhand.upbot's protocol: settings overrides as the first
stdin line, stdin as the lifeline) over the scripted model, for the supervisor crash tests:

    python -m tests.bot.up_child [--answer TEXT] [--step-delay S] [--log FILE]

Everything else is the real thing: deskhand.upbot.serve, the real engine around the scripted
runner, Socket Mode to the workspace, the store. `--log` writes this child's log records
(every level, tracebacks included) to FILE, appended, so a test can read what each child said.
"""

from __future__ import annotations

import argparse
import logging
import sys


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--answer", default="Scripted answer.")
    parser.add_argument("--step-delay", type=float, default=0.0)
    parser.add_argument("--log", default=None)
    args = parser.parse_args()

    from deskhand.logs import setup_logging
    from deskhand.settings import Settings
    from deskhand.upbot import read_overrides, serve
    from tests.bot.scripted import make_scripted_engine, new_script

    overrides, stopping = read_overrides()
    setup_logging("INFO")
    if args.log:
        handler = logging.FileHandler(args.log)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logging.getLogger().addHandler(handler)
    engine = make_scripted_engine(max_running=8, max_queue=64)
    answer = args.answer
    new_script(engine, answer=lambda turns: answer, step_delay_s=args.step_delay)
    settings = Settings(_env_file=None, **overrides)  # type: ignore[arg-type]
    try:
        return serve(settings, engine, stopping)
    finally:
        engine.shutdown()


if __name__ == "__main__":
    sys.exit(main())
