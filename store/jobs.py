"""The job book: one durable row per question, from its claim to its answer.

    received ──▶ answering ──▶ answered | failed
        └──────────────────▶ refused (busy, too long, not allowed) | ignored

`claim()` is the exactly-once gate: it records the event id and inserts the job with its
(channel, ts) in one transaction; of all the replicas (and redeliveries) that see a message,
exactly one gets True. Each replica beats in `replicas`; a job still open whose owner stopped
beating for a lease is an orphan, and `take_orphans()` hands each to exactly one live replica.
A Stop click that reached a replica not writing the answer is left here (`request_stop`) for
the one that is (`stop_requests`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, exists, func, select, update

from store.database import Store
from store.schema import jobs, processed_events, replicas


class JobState(StrEnum):
    RECEIVED = "received"
    ANSWERING = "answering"
    ANSWERED = "answered"
    FAILED = "failed"
    REFUSED = "refused"  # told busy / too long / not allowed instead of an answer
    IGNORED = "ignored"  # turned out not to be for us (a thread the bot is not in)


OPEN_STATES = (JobState.RECEIVED.value, JobState.ANSWERING.value)


@dataclass(frozen=True, slots=True)
class JobRow:
    id: str
    channel: str
    ts: str | None
    thread_ts: str | None
    user_id: str
    kind: str
    payload: dict[str, Any]
    state: str
    outcome: str | None
    reply_ts: list[str]
    owner: str | None
    attempts: int
    created_at: float
    updated_at: float
    stop_requested_by: str | None = None


class JobBook:
    """The jobs table as seen by one replica instance (`owner`)."""

    def __init__(self, store: Store, owner: str) -> None:
        self.store = store
        self.owner = owner

    # --- the claim ---------------------------------------------------------------------
    def claim(
        self,
        job_id: str,
        *,
        channel: str,
        ts: str | None,
        user_id: str,
        kind: str,
        payload: Mapping[str, Any],
        thread_ts: str | None = None,
        event_id: str | None = None,
    ) -> bool:
        """Record a question as `received` and owned by us; False if this event or this
        (channel, ts) was claimed before, by anyone."""
        now = time.time()
        with self.store.begin() as conn:
            if event_id and not self.store.insert_ignore(
                conn, processed_events, {"event_id": event_id, "received_at": now}
            ):
                return False
            return self.store.insert_ignore(
                conn,
                jobs,
                {
                    "id": job_id,
                    "channel": channel,
                    "ts": ts or None,
                    "thread_ts": thread_ts,
                    "user_id": user_id,
                    "kind": kind,
                    "payload": json.dumps(dict(payload), ensure_ascii=False),
                    "state": JobState.RECEIVED.value,
                    "owner": self.owner,
                    "attempts": 1,
                    "created_at": now,
                    "updated_at": now,
                },
            )

    # --- progress ------------------------------------------------------------------------
    def mark(self, job_id: str, state: JobState, outcome: str | None = None) -> None:
        self._update(job_id, state=state.value, outcome=outcome)

    def set_question(self, job_id: str, ts: str, payload: Mapping[str, Any]) -> None:
        """A slash command's question got its own message: its ts and the payload to redo."""
        self._update(
            job_id, ts=ts, thread_ts=ts, payload=json.dumps(dict(payload), ensure_ascii=False)
        )

    def set_payload(self, job_id: str, payload: Mapping[str, Any]) -> None:
        self._update(job_id, payload=json.dumps(dict(payload), ensure_ascii=False))

    def set_reply(self, job_id: str, reply_ts: list[str]) -> None:
        """The answer's messages so far, as soon as Slack gave them a ts."""
        self._update(job_id, reply_ts=",".join(reply_ts) or None)

    # --- Stop, across replicas ----------------------------------------------------------
    def request_stop(self, job_id: str, user_id: str) -> bool:
        """Ask whichever replica is writing this answer to stop it; False if it has ended."""
        with self.store.begin() as conn:
            result = conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id, jobs.c.state.in_(OPEN_STATES))
                .values(stop_requested_by=user_id, updated_at=time.time())
            )
        return bool(result.rowcount)

    def stop_requests(self, job_ids: Collection[str]) -> list[str]:
        """Those of these jobs that someone asked to stop through another replica."""
        if not job_ids:
            return []
        with self.store.begin() as conn:
            return list(
                conn.scalars(
                    select(jobs.c.id).where(
                        jobs.c.id.in_(list(job_ids)), jobs.c.stop_requested_by.is_not(None)
                    )
                )
            )

    def get(self, job_id: str) -> JobRow | None:
        with self.store.begin() as conn:
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).mappings().first()
        return _job(row) if row else None

    def open_for_user(self, user_id: str) -> int:
        """Questions from this person still waiting for their answer (every replica)."""
        with self.store.begin() as conn:
            return int(
                conn.scalar(
                    select(func.count())
                    .select_from(jobs)
                    .where(jobs.c.user_id == user_id, jobs.c.state.in_(OPEN_STATES))
                )
                or 0
            )

    # --- replicas and orphans ------------------------------------------------------------
    def beat(self) -> None:
        """We are alive (call every lease/3 seconds)."""
        now = time.time()
        with self.store.begin() as conn:
            beaten = conn.execute(
                update(replicas).where(replicas.c.id == self.owner).values(heartbeat_at=now)
            )
            if beaten.rowcount == 0:
                self.store.insert_ignore(
                    conn, replicas, {"id": self.owner, "started_at": now, "heartbeat_at": now}
                )

    def leave(self) -> None:
        """An orderly stop: our open jobs become orphans at once (none should be left)."""
        with self.store.begin() as conn:
            conn.execute(delete(replicas).where(replicas.c.id == self.owner))

    def take_orphans(self, lease_s: float, limit: int = 100) -> list[JobRow]:
        """Open jobs whose owner has not beaten for `lease_s`, now ours; each orphan goes to
        exactly one caller (a compare-and-set on its owner)."""
        cutoff = time.time() - lease_s
        alive = exists().where(replicas.c.id == jobs.c.owner, replicas.c.heartbeat_at >= cutoff)
        with self.store.begin() as conn:
            candidates = conn.execute(
                select(jobs.c.id, jobs.c.owner)
                .where(jobs.c.state.in_(OPEN_STATES), ~alive)
                .order_by(jobs.c.created_at)
                .limit(limit)
            ).all()
        taken = []
        for job_id, old_owner in candidates:
            same_owner = jobs.c.owner.is_(None) if old_owner is None else jobs.c.owner == old_owner
            with self.store.begin() as conn:
                result = conn.execute(
                    update(jobs)
                    .where(jobs.c.id == job_id, jobs.c.state.in_(OPEN_STATES), same_owner)
                    .values(owner=self.owner, attempts=jobs.c.attempts + 1, updated_at=time.time())
                )
            if result.rowcount == 1:
                job = self.get(job_id)
                if job is not None:
                    taken.append(job)
        return taken

    def release(self, job_id: str) -> None:
        """Give a taken job back unstarted (no room to run it now, or too soon to try again):
        the next sweep, anywhere, takes it; the take does not count as an attempt."""
        self._update(job_id, owner=None, attempts=jobs.c.attempts - 1)

    def forget_dead_replicas(self, older_than_s: float) -> None:
        cutoff = time.time() - older_than_s
        with self.store.begin() as conn:
            conn.execute(
                delete(replicas).where(
                    replicas.c.heartbeat_at < cutoff, replicas.c.id != self.owner
                )
            )

    def _update(self, job_id: str, **values: Any) -> None:
        with self.store.begin() as conn:
            conn.execute(
                update(jobs).where(jobs.c.id == job_id).values(updated_at=time.time(), **values)
            )


def _job(row: Any) -> JobRow:
    return JobRow(
        id=row["id"],
        channel=row["channel"],
        ts=row["ts"],
        thread_ts=row["thread_ts"],
        user_id=row["user_id"],
        kind=row["kind"],
        payload=json.loads(row["payload"]),
        state=row["state"],
        outcome=row["outcome"],
        reply_ts=[t for t in str(row["reply_ts"] or "").split(",") if t],
        owner=row["owner"],
        attempts=int(row["attempts"]),
        created_at=float(row["created_at"]),
        updated_at=float(row["updated_at"]),
        stop_requested_by=row["stop_requested_by"],
    )


__all__ = ["OPEN_STATES", "JobBook", "JobRow", "JobState"]
