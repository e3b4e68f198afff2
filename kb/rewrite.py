"""Follow-ups made standalone by the model (KB_STANDALONE=model), for models that can.

Owns the rewrite prompt and the sanity check on its output: finished, one line, of sensible
length, no number or code that neither the thread nor the question holds, not a refusal.
Anything else returns None and the caller keeps the rule-based rewrite (kb.standalone).
"""

from __future__ import annotations

from typing import Any

from kb.prompt import says_dont_know
from kb.text import ungrounded_facts

PROMPT = (
    "Rewrite the user's last question so that it can be understood without the conversation: "
    "replace words like 'it' or 'that' with what they refer to. Keep the user's language. "
    "Reply with the rewritten question only."
)
MAX_TURNS = 6
MAX_NEW_TOKENS = 48


def rewrite_messages(question: str, history: list[dict[str, str]]) -> list[dict[str, str]]:
    thread = "\n".join(
        f"{t.get('role', 'user')}: {t.get('content', '')}" for t in history[-MAX_TURNS:]
    )
    ask = f"Conversation:\n{thread}\n\nLast question: {question}\n\nRewritten question:"
    return [{"role": "system", "content": PROMPT}, {"role": "user", "content": ask}]


def model_standalone(engine: Any, question: str, history: list[dict[str, str]]) -> str | None:
    """The model's standalone question, or None when it fails the sanity check."""
    from engine import FinishReason, SamplingParams

    params = SamplingParams(max_new_tokens=MAX_NEW_TOKENS, temperature=0.0, top_p=1.0)
    completion = engine.submit(rewrite_messages(question, history), params).result()
    if completion.finish_reason is not FinishReason.STOP:
        return None  # cut off (or failed): not a question to search with
    text = str(completion.text)
    lines = [line.strip().strip('"') for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return None
    rewritten = lines[0].removeprefix("Rewritten question:").strip()
    context = " ".join(str(t.get("content", "")) for t in history) + " " + question
    if (
        not 3 <= len(rewritten) <= 2 * len(question) + 80
        or says_dont_know(rewritten)
        or ungrounded_facts(rewritten, context)
    ):
        return None
    return rewritten
