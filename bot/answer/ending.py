"""What the user finally sees: one function from (completion, stop state, plan) to the ending.

The answerer composes the reply from what the model wrote (sources, abstain, hand-off); this
module alone decides what becomes of it: an answer with footer notes (stopped, cut short,
trimmed), a short apology instead, and whether the 👍/👎 buttons apply.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot import errors
from bot.answer.answerers import Answerer, Plan
from bot.types import FinalReply, Question
from engine import Completion, FinishReason


@dataclass(frozen=True, slots=True)
class Ending:
    outcome: str  # for the log line and the job's row: stop, length, stopped by user, timeout…
    reply: FinalReply | None = None  # the answer, or None: `notice` instead
    notice: str = ""
    notice_kind: str = "error"
    feedback: bool = False  # offer 👍/👎 on it

    @property
    def answered(self) -> bool:
        return self.reply is not None


def final_reply(
    answerer: Answerer,
    question: Question,
    plan: Plan,
    completion: Completion | None,
    *,
    stopped: bool,
) -> Ending:
    """The one place that maps what happened to what is shown."""
    composed = answerer.finalize(question, plan, completion)
    reason = completion.finish_reason if completion else None
    text, notes = composed.text, list(composed.notes)
    outcome = reason.value if reason else "answered"
    stopped_early = completion is None and stopped and bool(plan.messages)
    if reason is FinishReason.CANCELLED or stopped_early:
        notes.append("Stopped.")
        text = text or "_Stopped before I wrote anything._"
        outcome = "stopped by user"
    elif reason in (FinishReason.TIMEOUT, FinishReason.ERROR):
        if not text.strip():
            timed_out = reason is FinishReason.TIMEOUT
            return Ending(outcome, notice=errors.TIMED_OUT if timed_out else errors.GENERIC)
        notes.append(
            "Cut short: "
            + ("it took too long." if reason is FinishReason.TIMEOUT else "something went wrong.")
        )
    elif not text.strip():
        text = errors.EMPTY_ANSWER
    elif (
        reason is FinishReason.LENGTH
        and not composed.cut_short  # the answerer already ended it at a sentence and said so
        and _ends_with_generated(text, completion)
    ):
        notes.append(errors.CUT_SHORT_LENGTH)  # never an answer that just stops mid-word
    if plan.omitted_turns:
        count = plan.omitted_turns
        notes.append(
            f"{count} earlier message{'s' if count != 1 else ''} left out "
            "to fit the model's context."
        )
    if plan.trimmed_chars:
        notes.append(
            f"The middle of your message ({plan.trimmed_chars:,} characters) was left out "
            "to fit the model's context."
        )
    is_answer = not stopped and reason in (None, FinishReason.STOP, FinishReason.LENGTH)
    recorded = composed.answer_ref != "0"  # "0": the feedback store could not keep it
    return Ending(
        outcome, reply=replace(composed, text=text, notes=notes), feedback=is_answer and recorded
    )


def _ends_with_generated(text: str, completion: Completion | None) -> bool:
    """The reply ends with the model's own words (not a composed answer around them)."""
    generated = completion.text.rstrip() if completion else ""
    return bool(generated) and text.rstrip().endswith(generated)
