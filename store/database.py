"""Opening the database: the URL, the SQLAlchemy engine for either backend, and migrations.

SQLite: WAL journal (readers never wait for the writer), a busy timeout, foreign keys on, and
every transaction opened with `BEGIN IMMEDIATE`, so a transaction that reads then writes can
never hit the lock-upgrade deadlock; safe from many threads and several processes.
PostgreSQL: psycopg 3 (`postgresql+psycopg://`), a small pool with pre-ping.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, create_engine, event, make_url
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from store.migrations import migrate

logger = logging.getLogger(__name__)

SQLITE_FILE = "deskhand.sqlite"
BUSY_TIMEOUT_S = 15.0


class StoreError(RuntimeError):
    """The database cannot be opened or used; the message says which and why."""


def database_url(configured: str | None, data_dir: Path) -> str:
    """DATABASE_URL as given (a bare `postgresql://` gets the psycopg 3 driver), else SQLite
    in the data dir."""
    if not configured:
        return f"sqlite:///{Path(data_dir) / SQLITE_FILE}"
    for plain in ("postgresql://", "postgres://"):
        if configured.startswith(plain):
            return "postgresql+psycopg://" + configured.removeprefix(plain)
    return configured


class Store:
    """One database, migrated; share one per process (it pools its connections)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str) -> Store:
        """Connect and bring the schema up to date; raises StoreError saying why not."""
        engine = _create_engine(url)
        store = cls(engine)
        try:
            with store.begin() as conn:
                migrate(conn)
        except SQLAlchemyError as err:
            engine.dispose()
            raise StoreError(f"cannot open the store at {store.where}: {_reason(err)}") from None
        return store

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name  # "sqlite" | "postgresql"

    @property
    def where(self) -> str:
        """The URL with any password hidden, for messages and logs."""
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One transaction: committed on success, rolled back on an exception."""
        with self.engine.begin() as conn:
            yield conn

    def insert_ignore(self, conn: Connection, table: Table, row: Mapping[str, Any]) -> bool:
        """INSERT … ON CONFLICT DO NOTHING: True when this call inserted the row. Atomic in
        the database: of many concurrent callers with the same key, exactly one gets True."""
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        key = next(iter(table.primary_key.columns))
        statement = insert(table).values(**row).on_conflict_do_nothing().returning(key)
        return conn.execute(statement).first() is not None  # (rowcount is -1 on psycopg)

    def upsert(
        self, conn: Connection, table: Table, row: Mapping[str, Any], keys: list[str]
    ) -> None:
        """INSERT, or UPDATE the non-key columns of the row with the same `keys`."""
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        statement = insert(table).values(**row)
        changed = {name: statement.excluded[name] for name in row if name not in keys}
        conn.execute(statement.on_conflict_do_update(index_elements=keys, set_=changed))

    def close(self) -> None:
        self.engine.dispose()


def _create_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(
            "DATABASE_URL is not a database URL (expected postgresql://user:pass@host/db)"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database or ":memory:")
    if parsed.get_backend_name() != "postgresql":
        raise StoreError(f"DATABASE_URL: unsupported database {parsed.get_backend_name()!r}")
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def _sqlite_engine(url: str, database: str) -> Engine:
    memory = database == ":memory:"
    if not memory:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False},
        # One shared connection for an in-memory database (tests); a pool for a file.
        **({"poolclass": StaticPool} if memory else {}),
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _reason(err: SQLAlchemyError) -> str:
    original = getattr(err, "orig", None)
    return str(original or err).strip().splitlines()[0]
