"""The store on both backends (SQLite file, throw-away PostgreSQL): migrations under a lock,
the atomic claims, orphaned jobs taken over exactly once, and errors that say what is wrong."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, inspect, select, text

from store import MIGRATIONS, Migration, Store, StoreError, database_url
from store.handoffs import claim_handoff
from store.jobs import JobBook, JobState
from store.migrations import migrate
from store.schema import schema_version


def _at_once(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run work(i) on `count` threads released together."""
    barrier = threading.Barrier(count)

    def run(i: int) -> Any:
        barrier.wait()
        return work(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def _claim(book: JobBook, job_id: str, ts: str = "1.0001", event_id: str | None = None) -> bool:
    return book.claim(
        job_id,
        channel="C1",
        ts=ts,
        user_id="U1",
        kind="mention",
        payload={"text": "hi"},
        thread_ts=None,
        event_id=event_id,
    )


def test_open_migrates_once_and_records_each_step(store_url: str) -> None:
    first = Store.open(store_url)
    second = Store.open(store_url)  # nothing left to apply
    with first.begin() as conn:
        names = list(conn.scalars(select(schema_version.c.id)))
    assert names == [m.name for m in MIGRATIONS]
    tables = set(inspect(first.engine).get_table_names())
    assert {"jobs", "processed_events", "replicas", "handoffs", "feedback_answers"} <= tables
    first.close()
    second.close()


def test_replicas_starting_together_apply_each_step_exactly_once(store_url: str) -> None:
    Store.open(store_url).close()  # the core schema
    applied_counts: list[int] = []
    extra = MetaData()
    Table("usage_example", extra, Column("id", Integer, primary_key=True))

    def slow_create(conn: Any) -> None:
        applied_counts.append(1)
        time.sleep(0.2)  # a second migrator would run inside this window without the lock
        extra.create_all(conn)

    steps = [*MIGRATIONS, Migration("0099_usage_example", slow_create)]
    stores = [Store.open(store_url) for _ in range(4)]

    def run(i: int) -> list[str]:
        with stores[i].begin() as conn:
            return migrate(conn, steps)

    results = _at_once(4, run)
    assert sorted(len(r) for r in results) == [0, 0, 0, 1]
    assert applied_counts == [1]
    assert "usage_example" in inspect(stores[0].engine).get_table_names()
    for store in stores:
        store.close()


def test_of_many_claims_on_one_message_exactly_one_wins(store_url: str) -> None:
    stores = [Store.open(store_url) for _ in range(3)]
    books = [JobBook(stores[i % 3], f"replica-{i}") for i in range(12)]
    # app_mention and message carry different event ids for the same (channel, ts)
    wins = _at_once(12, lambda i: _claim(books[i], f"job{i}", event_id=f"Ev{i % 2}"))
    assert wins.count(True) == 1
    winner = books[wins.index(True)]
    job = winner.get(f"job{wins.index(True)}")
    assert job is not None and job.state == "received" and job.owner == winner.owner
    for store in stores:
        store.close()


def test_a_redelivered_event_is_not_claimed_again(store_url: str) -> None:
    store = Store.open(store_url)
    book = JobBook(store, "a")
    assert _claim(book, "j1", event_id="Ev1")
    assert not _claim(book, "j2", ts="2.0", event_id="Ev1")  # same event id: a retry
    assert not _claim(book, "j3", event_id="Ev9")  # same message, other event
    assert _claim(book, "j4", ts="3.0", event_id=None)
    store.close()


def test_job_lifecycle_records_reply_and_outcome(store_url: str) -> None:
    store = Store.open(store_url)
    book = JobBook(store, "a")
    assert _claim(book, "j1")
    assert book.open_for_user("U1") == 1
    book.mark("j1", JobState.ANSWERING)
    book.set_reply("j1", ["5.0001", "5.0002"])
    book.mark("j1", JobState.ANSWERED, "stop")
    job = book.get("j1")
    assert job is not None
    assert (job.state, job.outcome, job.reply_ts) == ("answered", "stop", ["5.0001", "5.0002"])
    assert job.payload == {"text": "hi"}
    assert book.open_for_user("U1") == 0
    store.close()


def test_orphans_of_a_dead_replica_go_to_exactly_one_live_one(store_url: str) -> None:
    store = Store.open(store_url)
    dead = JobBook(store, "dead")
    dead.beat()
    for i in range(6):
        assert _claim(dead, f"j{i}", ts=f"{i}.0")
    dead.mark("j5", JobState.ANSWERED)
    live = [JobBook(store, f"live-{i}") for i in range(4)]
    for book in live:
        book.beat()
    assert all(book.take_orphans(lease_s=30) == [] for book in live)  # dead is still beating
    time.sleep(1.2)
    for book in live:
        book.beat()
    taken = _at_once(4, lambda i: live[i].take_orphans(lease_s=1.0))
    ids = sorted(job.id for jobs in taken for job in jobs)
    assert ids == ["j0", "j1", "j2", "j3", "j4"]  # each once; the answered one stays
    owners = {job.id: job.owner for jobs in taken for job in jobs}
    assert all(owner and owner.startswith("live-") for owner in owners.values())
    assert all(job.attempts == 2 for jobs in taken for job in jobs)
    store.close()


def test_a_stop_asked_on_one_replica_is_seen_by_the_one_writing_the_answer(
    store_url: str,
) -> None:
    writer_store, clicked_store = Store.open(store_url), Store.open(store_url)
    writer, clicked = JobBook(writer_store, "writer"), JobBook(clicked_store, "clicked")
    assert _claim(writer, "j1", ts="1.0") and _claim(writer, "j2", ts="2.0")
    writer.mark("j1", JobState.ANSWERING)
    assert writer.stop_requests(["j1", "j2"]) == []
    assert clicked.request_stop("j1", "U9")
    assert writer.stop_requests(["j1", "j2"]) == ["j1"]
    row = writer.get("j1")
    assert row is not None and row.stop_requested_by == "U9"
    writer.mark("j2", JobState.ANSWERED, "stop")
    assert not clicked.request_stop("j2", "U9")  # it has ended: nothing to stop
    assert writer.stop_requests([]) == []
    writer_store.close()
    clicked_store.close()


def test_an_older_database_gets_the_stop_request_column(store_url: str) -> None:
    store = Store.open(store_url)
    with store.begin() as conn:  # the shape a database had before 0005
        conn.execute(text("ALTER TABLE jobs DROP COLUMN stop_requested_by"))
        conn.execute(schema_version.delete().where(schema_version.c.id == "0005_stop_requests"))
    store.close()
    store = Store.open(store_url)
    columns = {c["name"] for c in inspect(store.engine).get_columns("jobs")}
    assert "stop_requested_by" in columns
    book = JobBook(store, "a")
    assert _claim(book, "j1") and book.request_stop("j1", "U2")
    store.close()


def test_a_handoff_is_claimed_once_across_store_instances(store_url: str) -> None:
    stores = [Store.open(store_url) for _ in range(2)]
    wins = _at_once(6, lambda i: claim_handoff(stores[i % 2], "C1", "1.0", f"U{i}"))
    assert wins.count(True) == 1
    assert not claim_handoff(stores[0], "C1", "1.0", "U1")  # e.g. after a restart
    for store in stores:
        store.close()


def test_database_url_defaults_to_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    assert database_url(None, tmp_path) == f"sqlite:///{tmp_path}/deskhand.sqlite"
    assert database_url("postgresql://u:p@h/db", tmp_path) == "postgresql+psycopg://u:p@h/db"
    store = Store.open(database_url(None, tmp_path / "data"))
    assert (tmp_path / "data" / "deskhand.sqlite").exists()
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    store.close()


def test_bad_database_urls_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not a database URL"):
        Store.open("nonsense")
    with pytest.raises(StoreError, match="unsupported database 'mysql'"):
        Store.open("mysql://u@h/db")
    with pytest.raises(
        StoreError, match=r"cannot open the store at postgresql\+psycopg://u:\*\*\*"
    ):
        Store.open("postgresql+psycopg://u:secret@127.0.0.1:9/db?connect_timeout=2")


def test_settings_choose_the_store(tmp_path: Path) -> None:
    from deskhand.settings import Settings

    plain = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    assert plain.store_url == f"sqlite:///{tmp_path}/deskhand.sqlite"
    assert plain.feedback_url == plain.store_url  # feedback lives in the store
    shared = Settings(_env_file=None, database_url="postgresql://u:pw@db/deskhand")  # type: ignore[call-arg]
    assert shared.store_url == "postgresql+psycopg://u:pw@db/deskhand"
    assert "pw" not in repr(shared)  # a secret, never printed
    own = Settings(_env_file=None, kb_feedback_db=tmp_path / "f.sqlite")  # type: ignore[call-arg]
    assert own.feedback_url == f"sqlite:///{tmp_path}/f.sqlite"
