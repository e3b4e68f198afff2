"""One question answered end to end without Slack, as the bot would: route, then the KB path
(prepare -> engine -> finalize), the general assistant (system prompt + thread) or the
small-talk reply. `deskhand ask` prints it; `kb eval` scores it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kb.route import Mode, RouteDecision
from kb.types import AnswerPlan, FinalAnswer, Source

if TYPE_CHECKING:
    from kb.desk import SupportDesk


@dataclass(slots=True)
class Answered:
    decision: RouteDecision
    text: str  # what the user reads (Markdown), the note last
    plan: AnswerPlan | None = None  # the KB plan, when retrieval ran
    final: FinalAnswer | None = None  # the KB reply, when the KB answered
    note: str = ""  # the footer line of an assistant answer
    sources: list[Source] = field(default_factory=list)

    @property
    def route(self) -> str:
        return self.decision.route

    @property
    def tier(self) -> str | None:
        return self.final.tier if self.final else None

    def as_json(self) -> dict[str, Any]:
        plan = self.plan
        return {
            "route": self.route,
            "mode": self.decision.mode,
            "reason": self.decision.reason,
            "tier": self.tier,
            "text": self.text,
            "note": self.note or None,
            "sources": [{"title": s.title, "url": s.url, "doc": s.doc} for s in self.sources],
            "standalone_question": plan.standalone_question if plan else None,
            "confidence": round(plan.confidence, 3) if plan else None,
            "notes": list(plan.notes) if plan else [],
        }


def answer(
    desk: SupportDesk,
    engine: Any | None,
    question: str,
    history: list[dict[str, str]] | None = None,
    channel_id: str | None = None,
    *,
    mode: Mode | None = None,
    write_assistant: bool = True,
) -> Answered:
    """Route `question` and answer it. Without an engine nothing is generated (the KB shows
    its fixed lead-in, the assistant route an empty text); `write_assistant=False` skips the
    assistant's generation only (what `kb eval` scores there is the route, not the prose)."""
    history = list(history or [])
    decision, plan = desk.route(question, history, channel_id, mode=mode)
    if decision.route == "smalltalk":
        return Answered(decision, desk.smalltalk_reply(decision.smalltalk, question), plan)
    if decision.route == "kb" and plan is not None:
        generated = ""
        if engine is not None and plan.needs_generation:
            generated = _generate(engine, plan.messages, desk.settings.kb_max_new_tokens)
        final = desk.finalize(plan, generated)
        return Answered(decision, final.text, plan, final, sources=final.sources)
    note = desk.assistant_note(question) if decision.mode == "auto" else ""
    text = ""
    if engine is not None and write_assistant:
        messages = [
            {"role": "system", "content": desk.settings.system_prompt},
            *history,
            {"role": "user", "content": question},
        ]
        text = _generate(engine, messages, desk.settings.max_new_tokens).strip()
    shown = f"{text}\n_{note}_" if text and note else text or (f"_{note}_" if note else "")
    return Answered(decision, shown, plan, note=note)


def _generate(engine: Any, messages: list[dict[str, str]], max_new_tokens: int) -> str:
    from engine import SamplingParams

    params = SamplingParams(max_new_tokens=max_new_tokens, temperature=0.0, top_p=1.0)
    return str(engine.submit(messages, params).result().text)
