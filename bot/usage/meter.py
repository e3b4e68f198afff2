"""Metering: every answer that ends becomes one usage row (tokens, timings, its share of
engine time), and the engine's busy/up seconds are refreshed with it. Failures here are
logged and swallowed: metering never costs anyone an answer.
"""

from __future__ import annotations

import logging
import secrets
import time

from bot.answer.jobs import AnswerJob
from bot.usage.log import EngineSession, UsageLog, UsageRecord
from engine import Completion, GenerationEngine

logger = logging.getLogger(__name__)

SURFACES = {"mention": "mention", "dm": "dm", "command": "slash", "followup": "followup"}
# Outcomes that produced an answer without the engine (e.g. a knowledge-base hand-off).
ANSWERED_WITHOUT_ENGINE = frozenset({"answered"})


class Meter:
    """Records answers for one bot process and its engine."""

    def __init__(self, log: UsageLog, engine: GenerationEngine, *, model: str) -> None:
        self.log = log
        self.engine = engine
        self.model = model
        self.session_id = secrets.token_hex(8)
        self.started_at = time.time()
        self.engine_seen()

    def record(
        self,
        job: AnswerJob,
        completion: Completion | None,
        *,
        outcome: str,
        route: str,
        answer_s: float,
    ) -> UsageRecord | None:
        """One row for an answer that used the engine or was written without it; None for
        questions that got no answer (busy, empty, failures before generation)."""
        if completion is None and outcome not in ANSWERED_WITHOUT_ENGINE:
            return None
        question = job.question
        record = UsageRecord(
            at=time.time(),
            team_id=question.team_id,
            user_id=question.user_id,
            channel_id=question.channel_id,
            surface=SURFACES.get(question.kind, question.kind),
            route=route,
            model=self.model,
            outcome=outcome,
            prompt_tokens=completion.prompt_tokens if completion else 0,
            output_tokens=completion.output_tokens if completion else 0,
            queue_wait_s=completion.queue_wait_s if completion else 0.0,
            ttft_s=completion.ttft_s if completion else None,
            engine_total_s=completion.total_s if completion else 0.0,
            answer_s=answer_s,
            engine_s=completion.engine_s if completion else 0.0,
        )
        try:
            self.log.record(record)
            self.engine_seen()
        except Exception:
            logger.exception("could not record usage for %s/%s", question.channel_id, question.ts)
            return None
        return record

    def engine_seen(self) -> None:
        """Refresh this process's engine row (busy and up seconds so far)."""
        try:
            stats = self.engine.stats()
            self.log.engine_seen(
                EngineSession(
                    id=self.session_id,
                    model=self.model,
                    started_at=self.started_at,
                    seen_at=time.time(),
                    busy_s=stats.busy_s,
                    uptime_s=stats.uptime_s,
                )
            )
        except Exception:
            logger.exception("could not record the engine's busy time")

    def close(self) -> None:
        self.engine_seen()  # the store itself is closed by whoever opened it
