"""Usage in the store: one row per answer (`answer_usage`: who asked where, the route and
model, tokens, timings and the answer's share of engine time) and one row per bot process
(`engine_sessions`: its engine's busy and up seconds, so utilisation is known). The tables
are described in store/schema.py (migration 0003_usage); the queries live here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from sqlalchemy import ColumnElement, Integer, cast, func, insert, select

from store import Store
from store.schema import answer_usage, engine_sessions


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """One answer's row in `answer_usage`."""

    at: float
    user_id: str
    channel_id: str
    surface: str
    route: str
    model: str
    outcome: str
    prompt_tokens: int = 0
    output_tokens: int = 0
    queue_wait_s: float = 0.0
    ttft_s: float | None = None
    engine_total_s: float = 0.0
    answer_s: float = 0.0
    engine_s: float = 0.0
    team_id: str = ""

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.output_tokens


@dataclass(frozen=True, slots=True)
class EngineSession:
    """One bot process's engine: when it ran, and how much of that time it was busy."""

    id: str
    model: str
    started_at: float
    seen_at: float
    busy_s: float
    uptime_s: float


@dataclass(frozen=True, slots=True)
class UsageTotals:
    """Sums over the answers of a window, computed in the database."""

    answers: int
    prompt_tokens: int
    output_tokens: int
    engine_s: float


RECORD_FIELDS = tuple(f.name for f in fields(UsageRecord))


class UsageLog:
    """Reads and writes the usage tables of one Store (thread-safe, as the Store is)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def record(self, record: UsageRecord) -> None:
        with self.store.begin() as conn:
            conn.execute(insert(answer_usage).values(**asdict(record)))

    def engine_seen(self, session: EngineSession) -> None:
        """Insert or refresh this process's engine row."""
        with self.store.begin() as conn:
            self.store.upsert(conn, engine_sessions, asdict(session), keys=["id"])

    def answers(
        self, since: float, until: float | None = None, *, user_id: str | None = None
    ) -> list[UsageRecord]:
        """Answers that ended in [since, until), oldest first."""
        query = select(*(answer_usage.c[name] for name in RECORD_FIELDS)).where(
            answer_usage.c.at >= since
        )
        if until is not None:
            query = query.where(answer_usage.c.at < until)
        if user_id is not None:
            query = query.where(answer_usage.c.user_id == user_id)
        with self.store.engine.connect() as conn:
            rows = conn.execute(query.order_by(answer_usage.c.at, answer_usage.c.id)).all()
        return [UsageRecord(**row._asdict()) for row in rows]

    def totals(self, since: float, until: float, *, user_id: str | None = None) -> UsageTotals:
        """Answers, tokens and engine time of the answers that ended in [since, until)."""
        c = answer_usage.c
        query = select(
            func.count(c.id),
            func.coalesce(func.sum(c.prompt_tokens), 0),
            func.coalesce(func.sum(c.output_tokens), 0),
            func.coalesce(func.sum(c.engine_s), 0.0),
        ).where(*self._window(since, until, user_id))
        with self.store.engine.connect() as conn:
            answers, prompt, output, engine_s = conn.execute(query).one()
        return UsageTotals(int(answers), int(prompt), int(output), float(engine_s))

    def answer_s_at_rank(
        self, since: float, until: float, rank: int, *, user_id: str | None = None
    ) -> float | None:
        """The `rank`-th shortest answer time (1 = the shortest) in [since, until)."""
        c = answer_usage.c
        query = (
            select(c.answer_s)
            .where(*self._window(since, until, user_id))
            .order_by(c.answer_s)
            .limit(1)
            .offset(rank - 1)
        )
        with self.store.engine.connect() as conn:
            value = conn.scalar(query)
        return None if value is None else float(value)

    def hourly_totals(self, start: float, hours: int) -> list[tuple[int, float]]:
        """(answers, engine time) for each of the `hours` hours from `start`, oldest first."""
        c = answer_usage.c
        offset = (c.at - start) / 3600.0
        hour: ColumnElement[int] = (  # SQLite's CAST truncates, which is floor for offset >= 0
            cast(offset, Integer)
            if self.store.engine.dialect.name == "sqlite"
            else cast(func.floor(offset), Integer)
        )
        query = (
            select(hour, func.count(c.id), func.coalesce(func.sum(c.engine_s), 0.0))
            .where(c.at >= start, c.at < start + hours * 3600.0)
            .group_by(hour)
        )
        buckets = [(0, 0.0)] * hours
        with self.store.engine.connect() as conn:
            for index, answers, engine_s in conn.execute(query).all():
                if 0 <= int(index) < hours:
                    buckets[int(index)] = (int(answers), float(engine_s))
        return buckets

    @staticmethod
    def _window(since: float, until: float, user_id: str | None) -> list[ColumnElement[bool]]:
        c = answer_usage.c
        where = [c.at >= since, c.at < until]
        if user_id is not None:
            where.append(c.user_id == user_id)
        return where

    def channels_since(self, since: float, limit: int = 100) -> list[str]:
        """The channels answered in since `since`, most recent first (the channels
        App Home's "Answer modes" lists)."""
        last = func.max(answer_usage.c.at)
        query = (
            select(answer_usage.c.channel_id)
            .where(answer_usage.c.at >= since)
            .group_by(answer_usage.c.channel_id)
            .order_by(last.desc())
            .limit(limit)
        )
        with self.store.engine.connect() as conn:
            return list(conn.scalars(query))

    def sessions(self, since: float) -> list[EngineSession]:
        """Engine sessions still running at or after `since`."""
        query = select(engine_sessions).where(engine_sessions.c.seen_at >= since)
        with self.store.engine.connect() as conn:
            return [EngineSession(**row._asdict()) for row in conn.execute(query).all()]

    def totals_since(
        self, since: float, *, user_id: str | None = None, channel_id: str | None = None
    ) -> tuple[int, int]:
        """(answers, tokens) since `since` for one user or one channel (budgets)."""
        tokens = answer_usage.c.prompt_tokens + answer_usage.c.output_tokens
        query = select(func.count(answer_usage.c.id), func.coalesce(func.sum(tokens), 0)).where(
            answer_usage.c.at >= since
        )
        if user_id is not None:
            query = query.where(answer_usage.c.user_id == user_id)
        if channel_id is not None:
            query = query.where(answer_usage.c.channel_id == channel_id)
        with self.store.engine.connect() as conn:
            answers, total = conn.execute(query).one()
        return int(answers), int(total)
