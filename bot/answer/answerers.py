"""The seam between Slack and what an answer is made of: prepare → (engine streams) → finalize.

`ChatAnswerer` answers from the conversation alone (system prompt + the trimmed thread);
`KnowledgeAnswerer` answers through kb's SupportDesk (grounding, sources, abstain, feedback);
`RoutingAnswerer` asks the desk where each question goes (kb.route: the channel's mode, small
talk, on-topic) and hands it to one of those two, or replies to small talk itself.
`open_answerer` picks one at start-up; the pipeline never knows which one it holds.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol, cast

from bot.answer.conversation import (
    Conversation,
    fit_to_window,
    name_echo_pending,
    strip_name_echo,
)
from bot.slack.formatting import cut_at_sentence, settled_prefix
from bot.types import FinalReply, Question, Source
from engine import ChatMessage, Completion, FinishReason, GenerationEngine
from kb.types import AnswerPlan

if TYPE_CHECKING:
    from bot.config import BotConfig
    from kb.desk import SupportDesk
    from kb.route import ChannelModes

logger = logging.getLogger(__name__)


def _kb_turns(turns: list[ChatMessage]) -> list[dict[str, str]]:
    """Chat turns as kb takes them (the same dicts: kb types them as plain dicts)."""
    return cast("list[dict[str, str]]", turns)


PROMPT_MARGIN_TOKENS = 8  # the chat template's closing tokens and rounding
# "continue" after an answer (one the token limit cut short, say): carry on, don't repeat.
CONTINUE_RE = re.compile(
    r"^\s*(?:please\s+)?(?:continue|go on|keep going|carry on|more)\s*(?:please)?[.!]*\s*$",
    re.IGNORECASE,
)
CONTINUE_PROMPT = (
    "Continue your previous answer exactly where it stopped. Do not repeat what you already wrote."
)
CUT_SHORT = "Cut short at my length limit: reply “continue” in this thread for the rest."
TRIM_MARK = "\n\n[… {chars:,} characters left out here to fit …]\n\n"
KB_QUESTION_SHARE = 2  # a question to the knowledge base gets at most 1/2 of the window


@dataclass(slots=True)
class Plan:
    """What to generate for one question (no messages: nothing to generate)."""

    messages: list[ChatMessage]
    stream: bool  # show the model's text while it is written
    max_new_tokens: int
    # When set, what is shown while the model writes is settled(text so far): only the part
    # the final answer keeps, which it continues (the reply is never edited back).
    settled: Callable[[str], str] | None = None
    omitted_turns: int = 0  # older turns left out to fit the context window
    trimmed_chars: int = 0  # characters left out of the middle of the question to fit
    avoid: str = ""  # text the answer must not copy: the bot's previous answer in the thread
    names: tuple[str, ...] = ()  # people in the conversation (a "Name:" echo is removed)
    state: AnswerPlan | Routed | None = field(default=None)  # the answerer's own plan


class Answerer(Protocol):
    name: str
    keeps_feedback: bool

    @property
    def channel_modes(self) -> ChannelModes | None:
        """Each channel's answer mode, when a knowledge base is loaded."""
        ...

    def prepare(self, question: Question, conversation: Conversation) -> Plan: ...

    def finalize(
        self, question: Question, plan: Plan, completion: Completion | None
    ) -> FinalReply: ...

    def record_feedback(self, answer_ref: str, vote: int, user_id: str) -> bool: ...

    def close(self) -> None: ...


class ChatAnswerer:
    """A plain assistant: the system prompt and the conversation, trimmed to the window."""

    name = "chat"
    keeps_feedback = False

    def __init__(
        self, engine: GenerationEngine, *, system_prompt: str, max_new_tokens: int
    ) -> None:
        self.engine = engine
        self.system_prompt = system_prompt
        self.max_new_tokens = answer_budget(engine, max_new_tokens)

    @property
    def prompt_budget(self) -> int:
        """Tokens for the prompt: the window less the answer's budget."""
        return self.engine.context_window - self.max_new_tokens - PROMPT_MARGIN_TOKENS

    @property
    def channel_modes(self) -> ChannelModes | None:
        return None

    def prepare(self, question: Question, conversation: Conversation) -> Plan:
        budget = self.prompt_budget
        system: ChatMessage = {"role": "system", "content": self.system_prompt}
        turns = list(conversation.turns)
        previous = previous_answer(conversation.history)
        if conversation.previous_cut and CONTINUE_RE.match(conversation.question):
            turns[-1] = {"role": "user", "content": CONTINUE_PROMPT}
        asked, trimmed = trim_middle(
            turns[-1]["content"], [system], self.engine.count_tokens, budget
        )
        turns[-1] = {"role": "user", "content": asked}
        messages, omitted = fit_to_window(system, turns, self.engine.count_tokens, budget)
        names = conversation.names
        return Plan(
            messages,
            stream=True,
            max_new_tokens=self.max_new_tokens,
            settled=lambda text: settled_answer(text, names),
            omitted_turns=omitted,
            trimmed_chars=trimmed,
            avoid=previous,
            names=names,
        )

    def finalize(self, question: Question, plan: Plan, completion: Completion | None) -> FinalReply:
        text = strip_name_echo(completion.text if completion else "", plan.names)
        if completion is not None and completion.finish_reason is FinishReason.LENGTH:
            return FinalReply(text=cut_at_sentence(text), notes=[CUT_SHORT], cut_short=True)
        return FinalReply(text=text)

    def record_feedback(self, answer_ref: str, vote: int, user_id: str) -> bool:
        logger.info("feedback %+d from %s (not stored: no knowledge base)", vote, user_id)
        return False

    def close(self) -> None:
        pass


class KnowledgeAnswerer:
    """Answers grounded in the knowledge base (kb.desk.SupportDesk)."""

    name = "kb"
    keeps_feedback = True

    def __init__(self, desk: SupportDesk, *, max_new_tokens: int, model_name: str) -> None:
        self.desk = desk
        self.max_new_tokens = max_new_tokens
        self.model_name = model_name

    @property
    def channel_modes(self) -> ChannelModes | None:
        return self.desk.modes

    def prepare(self, question: Question, conversation: Conversation) -> Plan:
        asked, trimmed = self.fit_question(conversation.question)
        plan = self.plan_for(
            self.desk.prepare(asked, _kb_turns(conversation.history), question.channel_id)
        )
        plan.trimmed_chars = trimmed
        return plan

    def fit_question(self, text: str) -> tuple[str, int]:
        """The question with its middle left out if it takes over half the window (the
        excerpts need the rest), and how many characters went."""
        engine = getattr(self.desk, "engine", None)
        if engine is None:
            return text, 0
        return trim_middle(
            text, [], engine.count_tokens, engine.context_window // KB_QUESTION_SHARE
        )

    def plan_for(self, plan: AnswerPlan) -> Plan:
        """The pipeline's plan for a desk's AnswerPlan."""
        # The KB reply is composed after generation (quotes, grounding check), and the model's
        # lead-in may be replaced: nothing is shown until it is final (the status says we are
        # writing), so the answer is posted once and never edited.
        return Plan(
            cast("list[ChatMessage]", list(plan.messages)),
            stream=False,
            max_new_tokens=self.max_new_tokens,
            state=plan,
        )

    def finalize(self, question: Question, plan: Plan, completion: Completion | None) -> FinalReply:
        generated = completion.text if completion else ""
        state = plan.state
        assert isinstance(state, AnswerPlan), "a KnowledgeAnswerer plan carries an AnswerPlan"
        final = self.desk.finalize(state, generated)
        answer_id = self.desk.log_answer(
            state,
            final,
            model=self.model_name,
            latency_s=completion.total_s if completion else None,
            channel_id=question.channel_id,
            user_id=question.user_id,
        )
        return FinalReply(
            text=final.body,
            sources=[Source(s.title, s.url) for s in final.sources],
            abstained=final.abstained,
            handoff=final.handoff,
            answer_ref=str(answer_id),
        )

    def record_feedback(self, answer_ref: str, vote: int, user_id: str) -> bool:
        if not answer_ref.isdigit():
            return False
        self.desk.record_feedback(int(answer_ref), vote, user_id)
        return True

    def close(self) -> None:
        self.desk.close()


@dataclass(frozen=True, slots=True)
class Routed:
    """RoutingAnswerer's plan state: where the question went and the inner answerer's state."""

    route: str  # "kb" | "assistant" | "smalltalk"
    reply: str = ""  # the small-talk reply
    note: str = ""  # the footer line of an assistant answer
    inner: AnswerPlan | None = None


class RoutingAnswerer:
    """Each question to the KB, the general assistant or a small-talk reply (see kb.route)."""

    name = "kb"
    keeps_feedback = True

    def __init__(self, knowledge: KnowledgeAnswerer, chat: ChatAnswerer) -> None:
        self.knowledge = knowledge
        self.chat = chat
        self.desk = knowledge.desk

    @property
    def channel_modes(self) -> ChannelModes | None:
        return self.desk.modes

    def prepare(self, question: Question, conversation: Conversation) -> Plan:
        asked, trimmed = self.knowledge.fit_question(conversation.question)
        if conversation.previous_cut and CONTINUE_RE.match(conversation.question):
            plan = self.chat.prepare(question, conversation)  # carry on the cut answer
            plan.state = Routed("assistant")
            return plan
        decision, kb_plan = self.desk.route(
            asked,
            _kb_turns(conversation.history),
            question.channel_id,
            is_dm=question.is_dm,
        )
        logger.info(
            "route %s/%s: %s (%s)",
            question.channel_id,
            question.ts,
            decision.route,
            decision.reason,
        )
        if decision.route == "smalltalk":
            reply = self.desk.smalltalk_reply(decision.smalltalk, conversation.question)
            return Plan([], stream=False, max_new_tokens=0, state=Routed("smalltalk", reply))
        if decision.route == "kb":
            assert kb_plan is not None, "the desk plans every question it routes to the KB"
            plan = self.knowledge.plan_for(kb_plan)
            plan.state = Routed("kb", inner=kb_plan)
            plan.trimmed_chars = trimmed
            return plan
        plan = self.chat.prepare(question, conversation)
        note = self.desk.assistant_note(conversation.question) if decision.mode == "auto" else ""
        plan.state = Routed("assistant", note=note)
        return plan

    def finalize(self, question: Question, plan: Plan, completion: Completion | None) -> FinalReply:
        routed = plan.state
        assert isinstance(routed, Routed), "a RoutingAnswerer plan carries its Routed state"
        if routed.route == "smalltalk":
            return FinalReply(text=routed.reply)
        if routed.route == "kb":
            return self.knowledge.finalize(question, replace(plan, state=routed.inner), completion)
        final = self.chat.finalize(question, plan, completion)
        return replace(final, notes=[*final.notes, routed.note]) if routed.note else final

    def record_feedback(self, answer_ref: str, vote: int, user_id: str) -> bool:
        if answer_ref.isdigit():
            return self.knowledge.record_feedback(answer_ref, vote, user_id)
        return self.chat.record_feedback(answer_ref, vote, user_id)

    def close(self) -> None:
        self.knowledge.close()


def answer_budget(engine: GenerationEngine, max_new_tokens: int) -> int:
    """Tokens a plain answer may take: MAX_NEW_TOKENS, at most half the window."""
    return max(1, min(max_new_tokens, engine.context_window // 2))


def previous_answer(history: Sequence[ChatMessage]) -> str:
    """The bot's last answer before the question ("" when it has not answered yet)."""
    return next((t["content"] for t in reversed(history) if t["role"] == "assistant"), "")


def settled_answer(written: str, names: Sequence[str]) -> str:
    """What of a plain answer may be shown while it is written: whole sentences, once it is
    clear the model is not starting with a copied "Name:" (which the final answer drops)."""
    if name_echo_pending(written, names):
        return ""
    return settled_prefix(strip_name_echo(written, names))


def trim_middle(
    text: str,
    head: list[ChatMessage],
    count_tokens: Callable[[list[ChatMessage]], int],
    budget: int,
) -> tuple[str, int]:
    """`text` (a user turn after `head`) with its middle replaced by a visible mark so that
    the two fit in `budget` tokens, and how many characters went (0: it fits as it is). A long
    paste keeps its start and, for the question usually at its end, more of its end."""

    def fits(content: str) -> bool:
        return count_tokens([*head, {"role": "user", "content": content}]) <= budget

    if fits(text):
        return text, 0

    def cut(kept: int) -> str:
        start = kept * 2 // 5
        return (
            text[:start]
            + TRIM_MARK.format(chars=len(text) - kept)
            + text[len(text) - (kept - start) :]
        )

    low, high = 0, len(text) - 1
    while low < high:
        mid = (low + high + 1) // 2
        if fits(cut(mid)):
            low = mid
        else:
            high = mid - 1
    return cut(low), len(text) - low


def route_of(answerer: Answerer, plan: Plan | None) -> str:
    """Where a question went, for metering: kb / assistant / smalltalk."""
    if plan is not None and isinstance(plan.state, Routed):
        return plan.state.route
    return "assistant" if answerer.name == "chat" else answerer.name


def open_answerer(
    settings: BotConfig, engine: GenerationEngine, desk: SupportDesk | None = None
) -> Answerer:
    """The routing answerer (KB, assistant or small talk per question) when KB_DIR is set or a
    desk is given, else plain chat."""
    if desk is None and settings.kb.kb_dir is not None:
        from kb.desk import SupportDesk

        desk = SupportDesk.open(settings.kb, engine)
    chat = ChatAnswerer(
        engine, system_prompt=settings.system_prompt, max_new_tokens=settings.max_new_tokens
    )
    if desk is None:
        return chat
    knowledge = KnowledgeAnswerer(
        desk, max_new_tokens=settings.kb_max_new_tokens, model_name=engine.info.name
    )
    return RoutingAnswerer(knowledge, chat)
