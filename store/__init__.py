"""Deskhand's durable state: one store, two backends (SQLite by default, PostgreSQL shared).

Everything that must survive a restart lives here: processed events, one job per question,
the feedback on answers, the "Ask a human" hand-offs, the live replicas (and, from other
modules, e.g. usage). SQLAlchemy 2 Core over a sync engine: SQLite in WAL mode under the data
dir when DATABASE_URL is unset (zero config, one process or several on one host), PostgreSQL
(`postgresql+psycopg://…`) when it is set, so several replicas share one truth.

    store = Store.open(database_url(settings.database_url, settings.data_dir))
    with store.begin() as conn: ...            # one transaction
    store.insert_ignore(conn, table, row)      # atomic claim: True for exactly one caller

Adding a table (e.g. usage):
  1. describe it in `store/schema.py` on the shared `metadata` (Core `Table`);
  2. append a step to `MIGRATIONS` in `store/migrations.py`, e.g.
     `Migration("0003_usage", create_tables("usage"))`. Never edit or reorder a step that
     shipped: add a new one (to add a column: `add_column("usage", "tokens")`).
  3. write the queries in your own module, taking a `Store`.
Start-up (`Store.open`) applies the missing steps in order, under a lock (a Postgres advisory
lock, SQLite's write lock), so replicas starting together never race.
"""

from store.database import Store, StoreError, database_url
from store.migrations import MIGRATIONS, Migration

__all__ = ["MIGRATIONS", "Migration", "Store", "StoreError", "database_url"]
