"""The usage tables (SQLAlchemy Core): one row per answer — who asked where, the route and
model, tokens, timings and the answer's share of engine time — and one row per bot process
with its engine's busy and up seconds, so utilisation is known.

SQLite by default (USAGE_DB). Written so the `store` package can take the two tables over as
one migration: everything here is `metadata` plus plain inserts and selects.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from sqlalchemy import (
    Column,
    Connection,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    func,
    insert,
    select,
    update,
)

metadata = MetaData()

answer_usage = Table(
    "answer_usage",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False, index=True),  # epoch seconds, when the answer ended
    Column("team_id", String, nullable=False, default=""),
    Column("user_id", String, nullable=False, index=True),
    Column("channel_id", String, nullable=False, index=True),
    Column("surface", String, nullable=False),  # mention | dm | slash | followup
    Column("route", String, nullable=False),  # kb | chat (the answerer)
    Column("model", String, nullable=False),
    Column("outcome", String, nullable=False),  # stop | length | cancelled | timeout | ...
    Column("prompt_tokens", Integer, nullable=False, default=0),
    Column("output_tokens", Integer, nullable=False, default=0),
    Column("queue_wait_s", Float, nullable=False, default=0.0),
    Column("ttft_s", Float, nullable=True),
    Column("engine_total_s", Float, nullable=False, default=0.0),  # submit -> last token
    Column("answer_s", Float, nullable=False, default=0.0),  # the bot's wall time, end to end
    Column("engine_s", Float, nullable=False, default=0.0),  # this answer's share of the engine
)

engine_sessions = Table(
    "engine_sessions",
    metadata,
    Column("id", String, primary_key=True),  # one per bot process
    Column("model", String, nullable=False),
    Column("started_at", Float, nullable=False),
    Column("seen_at", Float, nullable=False),
    Column("busy_s", Float, nullable=False, default=0.0),
    Column("uptime_s", Float, nullable=False, default=0.0),
)


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


RECORD_FIELDS = tuple(f.name for f in fields(UsageRecord))


class UsageLog:
    """Reads and writes the usage tables; safe to share between threads."""

    def __init__(self, url: str) -> None:
        is_sqlite = url.startswith("sqlite")
        self.engine = create_engine(url, connect_args={"timeout": 15} if is_sqlite else {})
        self._write_lock = threading.Lock()  # SQLite takes one writer at a time anyway
        metadata.create_all(self.engine)

    @classmethod
    def open(cls, path: Path) -> UsageLog:
        """The SQLite file at `path` (its folder is created)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        return cls(f"sqlite:///{path}")

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        with self._write_lock, self.engine.begin() as conn:
            yield conn

    def record(self, record: UsageRecord) -> None:
        with self._writing() as conn:
            conn.execute(insert(answer_usage).values(**asdict(record)))

    def engine_seen(self, session: EngineSession) -> None:
        """Insert or refresh this process's engine row."""
        values = asdict(session)
        with self._writing() as conn:
            changed = conn.execute(
                update(engine_sessions)
                .where(engine_sessions.c.id == session.id)
                .values(seen_at=session.seen_at, busy_s=session.busy_s, uptime_s=session.uptime_s)
            ).rowcount
            if not changed:
                conn.execute(insert(engine_sessions).values(**values))

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
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(answer_usage.c.at, answer_usage.c.id)).all()
        return [UsageRecord(**row._asdict()) for row in rows]

    def sessions(self, since: float) -> list[EngineSession]:
        """Engine sessions still running at or after `since`."""
        query = select(engine_sessions).where(engine_sessions.c.seen_at >= since)
        with self.engine.connect() as conn:
            return [EngineSession(**row._asdict()) for row in conn.execute(query).all()]

    def totals_since(
        self, since: float, *, user_id: str | None = None, channel_id: str | None = None
    ) -> tuple[int, int]:
        """(answers, tokens) since `since` for one user or one channel (budgets)."""
        query = select(
            func.count(answer_usage.c.id),
            func.coalesce(func.sum(answer_usage.c.prompt_tokens + answer_usage.c.output_tokens), 0),
        ).where(answer_usage.c.at >= since)
        if user_id is not None:
            query = query.where(answer_usage.c.user_id == user_id)
        if channel_id is not None:
            query = query.where(answer_usage.c.channel_id == channel_id)
        with self.engine.connect() as conn:
            answers, tokens = conn.execute(query).one()
        return int(answers), int(tokens)

    def close(self) -> None:
        self.engine.dispose()
