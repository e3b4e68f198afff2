"""Schema migrations: an ordered list of named steps, applied once each at start-up.

`migrate()` runs in one transaction under a lock (PostgreSQL: an advisory lock; SQLite: the
write lock `BEGIN IMMEDIATE` takes), so two replicas starting together apply each step
exactly once. The names applied are recorded in `schema_version`. Append new steps at the
end; never change one that has shipped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, inspect, select, text
from sqlalchemy.schema import CreateColumn

from store import schema

logger = logging.getLogger(__name__)

MIGRATION_LOCK_KEY = 0x6465736B68616E64 & 0x7FFFFFFFFFFFFFFF  # "deskhand", a bigint


@dataclass(frozen=True, slots=True)
class Migration:
    name: str  # recorded in schema_version; sorts nowhere, the list order is the order
    upgrade: Callable[[Connection], None]


def create_tables(*names: str) -> Callable[[Connection], None]:
    """A step that creates these tables of `store.schema.metadata` (and their indexes)."""

    def upgrade(conn: Connection) -> None:
        tables = [schema.metadata.tables[name] for name in names]
        schema.metadata.create_all(conn, tables=tables, checkfirst=True)

    return upgrade


def add_column(table: str, column: str) -> Callable[[Connection], None]:
    """A step that adds a column (as described in schema.py) to an existing table."""

    def upgrade(conn: Connection) -> None:
        existing = {c["name"] for c in inspect(conn).get_columns(table)}
        if column not in existing:
            spec = CreateColumn(schema.metadata.tables[table].c[column]).compile(
                dialect=conn.dialect
            )
            conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {spec}"))

    return upgrade


MIGRATIONS: list[Migration] = [
    Migration("0001_core", create_tables("processed_events", "jobs", "replicas", "handoffs")),
    Migration("0002_feedback", create_tables("feedback_answers", "feedback_votes")),
    Migration("0003_usage", create_tables("answer_usage", "engine_sessions")),
    Migration("0004_channel_modes", create_tables("channel_modes")),
    Migration("0005_stop_requests", add_column("jobs", "stop_requested_by")),
]


def migrate(conn: Connection, migrations: list[Migration] | None = None) -> list[str]:
    """Apply the steps not yet recorded, in order; returns the names applied. Call inside a
    transaction (`Store.begin()`): on SQLite it already holds the write lock."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    schema.schema_version.create(conn, checkfirst=True)
    done = set(conn.scalars(select(schema.schema_version.c.id)))
    applied = []
    for step in MIGRATIONS if migrations is None else migrations:
        if step.name in done:
            continue
        step.upgrade(conn)
        conn.execute(schema.schema_version.insert().values(id=step.name, applied_at=time.time()))
        applied.append(step.name)
        logger.info("store: applied migration %s", step.name)
    return applied
