"""The seam between Slack and what an answer is made of: prepare → (engine streams) → finalize.

`ChatAnswerer` answers from the conversation alone (system prompt + the trimmed thread);
`KnowledgeAnswerer` answers through kb's SupportDesk (grounding, sources, abstain, feedback);
`RoutingAnswerer` asks the desk where each question goes (kb.route: the channel's mode, small
talk, on-topic) and hands it to one of those two, or replies to small talk itself.
`open_answerer` picks one at start-up; the pipeline never knows which one it holds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol, cast

from bot.answer.conversation import Conversation, fit_to_window
from bot.types import FinalReply, Question, Source
from engine import ChatMessage, Completion, GenerationEngine
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


@dataclass(slots=True)
class Plan:
    """What to generate for one question (no messages: nothing to generate)."""

    messages: list[ChatMessage]
    stream: bool  # show the model's text while it is written
    max_new_tokens: int
    # When set, the text shown while the model writes is draft(text so far), and the
    # final answer replaces it (rather than the final answer continuing the streamed text).
    draft: Callable[[str], str] | None = None
    omitted_turns: int = 0  # older turns left out to fit the context window
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
        self.max_new_tokens = max(1, min(max_new_tokens, engine.context_window // 2))

    @property
    def channel_modes(self) -> ChannelModes | None:
        return None

    def prepare(self, question: Question, conversation: Conversation) -> Plan:
        budget = self.engine.context_window - self.max_new_tokens - PROMPT_MARGIN_TOKENS
        system: ChatMessage = {"role": "system", "content": self.system_prompt}
        messages, omitted = fit_to_window(
            system, conversation.turns, self.engine.count_tokens, budget
        )
        return Plan(
            messages, stream=True, max_new_tokens=self.max_new_tokens, omitted_turns=omitted
        )

    def finalize(self, question: Question, plan: Plan, completion: Completion | None) -> FinalReply:
        return FinalReply(text=completion.text if completion else "")

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
        return self.plan_for(
            self.desk.prepare(
                conversation.question, _kb_turns(conversation.history), question.channel_id
            )
        )

    def plan_for(self, plan: AnswerPlan) -> Plan:
        """The pipeline's plan for a desk's AnswerPlan."""
        # The KB reply is composed after generation (quotes, grounding check): while the model
        # writes, the reply shows a checked draft of its lead-in, which the final answer replaces.
        return Plan(
            cast("list[ChatMessage]", list(plan.messages)),
            stream=True,
            max_new_tokens=self.max_new_tokens,
            state=plan,
            draft=lambda text: self.desk.draft(plan, text),
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
        decision, kb_plan = self.desk.route(
            conversation.question,
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
