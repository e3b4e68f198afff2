"""`deskhand chat`: a conversation with the engine in the terminal, streamed as it is written.

The same engine path the bot uses (submit, stream deltas, result), with the conversation kept
in memory and trimmed from the oldest turn when it no longer fits the context window.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from deskhand.settings import Settings
from engine import ChatMessage, EngineError, SamplingParams

HELP = "Commands: /reset clears the conversation, /stats shows the engine, /exit (or Ctrl-D) quits."


def run_chat(settings: Settings, *, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> int:
    from engine import start_engine

    logging.basicConfig(level=settings.log_level, format="%(message)s")
    engine = start_engine(settings.engine_options())
    params = SamplingParams(
        max_new_tokens=settings.max_new_tokens,
        temperature=settings.temperature,
        top_p=settings.top_p,
        timeout_s=settings.request_timeout_s,
    )
    system: ChatMessage = {"role": "system", "content": settings.system_prompt}
    history: list[ChatMessage] = []
    print(HELP, file=stdout)
    try:
        while True:
            stdout.write("\nyou> ")
            stdout.flush()
            line = stdin.readline()
            if not line:
                break
            text = line.strip()
            if text in ("/exit", "/quit"):
                break
            if text == "/reset":
                history.clear()
                print("(conversation cleared)", file=stdout)
                continue
            if text == "/stats":
                print(engine.stats(), file=stdout)
                continue
            if not text:
                continue
            history.append({"role": "user", "content": text})
            while len(history) > 1 and (
                engine.count_tokens([system, *history]) + params.max_new_tokens
                > engine.context_window
            ):
                del history[:2]  # the oldest exchange goes first
            stdout.write("deskhand> ")
            try:
                handle = engine.submit([system, *history], params)
                for delta in handle:
                    stdout.write(delta)
                    stdout.flush()
                result = handle.result()
            except EngineError as err:
                history.pop()
                print(f"(the engine could not answer: {err})", file=stdout)
                continue
            except KeyboardInterrupt:
                handle.cancel()
                result = handle.result()
                print("\n(stopped)", file=stdout)
            history.append({"role": "assistant", "content": result.text})
            stdout.write(
                f"\n  [{result.output_tokens} tokens, {result.finish_reason.value}, "
                f"first token {result.ttft_s or 0:.2f} s, {result.total_s:.1f} s]\n"
            )
    except KeyboardInterrupt:
        pass
    finally:
        engine.shutdown()
    return 0
