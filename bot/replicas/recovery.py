"""Nothing lost across restarts: this replica's heartbeat, and the questions of dead ones.

A background thread beats in the store every lease/3 and, every lease/2 (and once at start),
takes the open jobs whose owner stopped beating (a `kill -9`, a crash, a stopped replica):
each goes to exactly one live replica. A job younger than RESUME_MAX_AGE_S is answered again,
its half-written reply replaced in place; an older one gets a short "please ask again" in its
thread. With no room in the pool a taken job is released for the next sweep.
"""

from __future__ import annotations

import logging
import threading
import time
from functools import partial

from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError

from bot import errors
from bot.answer.jobs import AnswerJob
from bot.answer.pipeline import open_reply, run
from bot.services import BotServices
from store.jobs import JobRow, JobState

logger = logging.getLogger(__name__)

FORGET_REPLICAS_AFTER_LEASES = 100


class Recovery:
    def __init__(self, bot: BotServices) -> None:
        self.bot = bot
        self.lease_s = bot.settings.replica_lease_s
        self.resumed = 0  # jobs answered again here (for the benchmark and logs)
        self.apologized = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="recovery", daemon=True)

    def start(self) -> None:
        self.bot.jobs.beat()  # alive before the first event can arrive
        self._thread.start()

    def stop(self) -> None:
        """Stop beating; our open jobs (none after an orderly stop) become orphans at once."""
        self._stopping.set()
        self._thread.join(5.0)
        try:
            self.bot.jobs.leave()
        except SQLAlchemyError:
            logger.exception("could not sign this replica off")

    def _run(self) -> None:
        beat_every, sweep_every = self.lease_s / 3, self.lease_s / 2
        next_sweep = 0.0
        while not self._stopping.is_set():
            try:
                self.bot.jobs.beat()
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + sweep_every
                    self.sweep()
            except SQLAlchemyError:
                logger.exception("the store is unreachable: retrying")
            except Exception:
                logger.exception("recovery sweep failed")
            self._stopping.wait(beat_every)

    def sweep(self) -> int:
        """Take and resume every orphaned job; returns how many were taken."""
        orphans = self.bot.jobs.take_orphans(self.lease_s)
        for row in orphans:
            self.resume(row)
        self.bot.jobs.forget_dead_replicas(self.lease_s * FORGET_REPLICAS_AFTER_LEASES)
        return len(orphans)

    def resume(self, row: JobRow) -> None:
        bot = self.bot
        job = AnswerJob.from_payload(row.id, row.payload, row.reply_ts)
        age_s = time.time() - row.created_at
        if age_s > bot.settings.resume_max_age_s:
            self.apologize(job, age_s)
            return
        job.reply_ts = self.reply_parts(job, row.reply_ts)
        if bot.pool.try_start(job, partial(run, bot=bot)):
            self.resumed += 1
            logger.warning(
                "resuming the answer to %s/%s (attempt %d, %.0f s old)",
                job.question.channel_id,
                job.question.ts or "-",
                row.attempts,
                age_s,
            )
        else:
            logger.info("no room to resume job %s now: leaving it for the next sweep", job.id)
            bot.jobs.release(job.id)

    def reply_parts(self, job: AnswerJob, recorded: list[str]) -> list[str]:
        """The messages of a half-written answer: those the store recorded, and any it missed
        (a stream the dead process began just before dying has no ts in the store and no
        metadata yet): in the thread, after the question and before the next person's message,
        the bot's messages that answer this question or carry no metadata at all."""
        question, identity = job.question, self.bot.identity
        thread_ts = question.reply_thread_ts
        if not thread_ts or not question.ts:
            return recorded
        try:
            messages = self.bot.reader.thread(question.channel_id, thread_ts)
        except SlackApiError as err:
            logger.info(
                "could not read the thread of job %s: %s", job.id, err.response.get("error")
            )
            return recorded
        found = set(recorded)
        later = [m for m in messages if float(m.get("ts") or 0) > float(question.ts)]
        for message in sorted(later, key=lambda m: float(m["ts"])):
            if message.get("user") != identity.user_id:
                break  # a person spoke: what follows answers something else
            metadata = message.get("metadata") or {}
            source = (metadata.get("event_payload") or {}).get("source_ts")
            if not metadata or source == question.ts:
                found.add(str(message["ts"]))
        return sorted(found, key=float)

    def apologize(self, job: AnswerJob, age_s: float) -> None:
        """Too old to answer now: say so in the thread (over a half-written reply)."""
        logger.warning(
            "job %s is %.0f s old: asking %s to ask again", job.id, age_s, job.question.user_id
        )
        if job.question.kind == "command" and not job.question.ts and not job.ephemeral:
            job.ephemeral = True  # its question never got posted: say it privately, if we can
        job.reply_ts = self.reply_parts(job, job.reply_ts)
        try:
            open_reply(job, self.bot).notice(errors.RESTARTED, "restarted")
        except Exception:
            logger.exception("could not tell %s to ask again", job.question.user_id)
        self.apologized += 1
        self.bot.jobs.mark(job.id, JobState.FAILED, "restarted")
