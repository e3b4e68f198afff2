"""Nothing lost across restarts: this replica's heartbeat, and the questions of dead ones.

A background thread beats in the store every lease/3 and, every lease/2 (and once at start),
takes the open jobs whose owner stopped beating (a `kill -9`, a crash, a stopped replica):
each goes to exactly one live replica. A job younger than RESUME_MAX_AGE_S is answered again,
its half-written reply replaced in place; an older one gets a short "please ask again" in its
thread. With no room in the pool a taken job is released for the next sweep.

Never a storm: a job is tried at most MAX_ATTEMPTS times in all (a question that kills the
process every time ends with "please ask again"), attempt n not before lease × (2ⁿ⁻¹ − 1)
seconds after the question; a half-written reply that is gone (deleted, a local workspace
restarted empty) is replaced by a fresh one; a thread or channel that is gone gets the "please
ask again" by DM. Each outcome is one log line; a notice that cannot be delivered anywhere is
counted (`undelivered`), never raised.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from functools import partial

from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError

from bot import errors
from bot.answer.jobs import AnswerJob
from bot.answer.pipeline import open_reply, run
from bot.services import BotServices
from bot.slack.api_errors import MESSAGE_GONE, is_gone, slack_code
from store.jobs import JobRow, JobState

logger = logging.getLogger(__name__)

FORGET_REPLICAS_AFTER_LEASES = 100
MAX_ATTEMPTS = 3  # the first answer and two resumes


def not_before(created_at: float, attempts: int, lease_s: float) -> float:
    """When attempt `attempts` (2, 3, …) of a job may start: a backoff doubling per try."""
    return created_at + lease_s * (2 ** max(0, attempts - 1) - 1)


class ThreadGone(Exception):
    """The question's thread (or its channel) cannot be read or written any more."""


class Recovery:
    def __init__(self, bot: BotServices) -> None:
        self.bot = bot
        self.lease_s = bot.settings.replica_lease_s
        self.resumed = 0  # jobs answered again here (for the benchmark and logs)
        self.apologized = 0
        self.fresh_replies = 0  # resumed jobs whose half-written reply was gone
        self.gave_up = 0  # jobs tried MAX_ATTEMPTS times
        self.undelivered = 0  # "please ask again" notices that reached nobody
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
        now = time.time()
        age_s = now - row.created_at
        if row.attempts > MAX_ATTEMPTS:
            self.gave_up += 1
            self.apologize(job, age_s, f"tried {MAX_ATTEMPTS} times", outcome="gave up")
            return
        if age_s > bot.settings.resume_max_age_s:
            self.apologize(job, age_s, f"{age_s:.0f} s old", outcome="restarted")
            return
        if now < not_before(row.created_at, row.attempts, self.lease_s):
            logger.debug("job %s: attempt %d later (backoff)", job.id, row.attempts)
            bot.jobs.release(job.id)
            return
        try:
            job.reply_ts = self.reply_parts(job, row.reply_ts)
        except ThreadGone as gone:
            self.apologize(job, age_s, str(gone), outcome="gone")
            return
        if bot.pool.try_start(job, partial(self._run_resumed, run)):
            self.resumed += 1
            logger.warning(
                "resuming the answer to %s/%s (attempt %d of %d, %.0f s old%s)",
                job.question.channel_id,
                job.question.ts or "-",
                row.attempts,
                MAX_ATTEMPTS,
                age_s,
                "" if job.reply_ts or not row.reply_ts else ", its reply is gone: a fresh one",
            )
            if row.reply_ts and not job.reply_ts:
                self.fresh_replies += 1
        else:
            logger.info("no room to resume job %s now: leaving it for the next sweep", job.id)
            bot.jobs.release(job.id)

    def _run_resumed(self, work: Callable[..., None], job: AnswerJob) -> None:
        """Answer again; a thread or channel gone meanwhile ends in a DM, not a traceback."""
        try:
            work(job, bot=self.bot)
        except SlackApiError as err:
            if not is_gone(err):
                raise
            self.apologize(job, 0.0, f"its thread is gone ({slack_code(err)})", outcome="gone")

    def reply_parts(self, job: AnswerJob, recorded: list[str]) -> list[str]:
        """The messages of a half-written answer that still exist: those the store recorded,
        and any it missed (a stream the dead process began just before dying has no ts in the
        store and no metadata yet): in the thread, after the question and before the next
        person's message, the bot's messages that answer this question or carry no metadata.
        Raises ThreadGone when the thread or its channel cannot be read."""
        question, identity = job.question, self.bot.identity
        thread_ts = question.reply_thread_ts
        if not thread_ts or not question.ts:
            return recorded
        try:
            messages = self.bot.reader.thread(question.channel_id, thread_ts)
        except SlackApiError as err:
            if is_gone(err) and slack_code(err) not in MESSAGE_GONE:
                raise ThreadGone(f"its thread is gone ({slack_code(err)})") from None
            logger.info("could not read the thread of job %s: %s", job.id, slack_code(err))
            return recorded
        present = {str(m.get("ts")) for m in messages}
        found = {ts for ts in recorded if ts in present}
        later = [m for m in messages if float(m.get("ts") or 0) > float(question.ts)]
        for message in sorted(later, key=lambda m: float(m["ts"])):
            if message.get("user") != identity.user_id:
                break  # a person spoke: what follows answers something else
            metadata = message.get("metadata") or {}
            source = (metadata.get("event_payload") or {}).get("source_ts")
            if not metadata or source == question.ts:
                found.add(str(message["ts"]))
        return sorted(found, key=float)

    def apologize(self, job: AnswerJob, age_s: float, why: str, *, outcome: str) -> None:
        """Not answering after all: say "please ask again" in the thread (over a half-written
        reply), else by DM; one log line either way, and the job ends."""
        user = job.question.user_id
        if job.question.kind == "command" and not job.question.ts and not job.ephemeral:
            job.ephemeral = True  # its question never got posted: say it privately, if we can
        where = self._tell_in_thread(job) or self._tell_by_dm(job)
        if where is None:
            self.undelivered += 1
            logger.warning("job %s (%s): could not tell %s to ask again", job.id, why, user)
        else:
            self.apologized += 1
            logger.warning("job %s (%s): asked %s to ask again %s", job.id, why, user, where)
        self.bot.jobs.mark(job.id, JobState.FAILED, outcome)

    def _tell_in_thread(self, job: AnswerJob) -> str | None:
        try:
            job.reply_ts = self.reply_parts(job, job.reply_ts)
            open_reply(job, self.bot).notice(errors.RESTARTED, "restarted")
        except ThreadGone:
            return None
        except SlackApiError as err:
            if not is_gone(err):
                logger.info("no notice in the thread of job %s: %s", job.id, slack_code(err))
            return None
        except Exception as err:  # a webhook or network failure: try the DM
            logger.info("no notice in the thread of job %s: %r", job.id, err)
            return None
        return "in its thread"

    def _tell_by_dm(self, job: AnswerJob) -> str | None:
        question = job.question
        # chat.postMessage to a user id writes in the app's DM with them (chat:write only).
        where = "" if question.channel_id.startswith("D") else f" in <#{question.channel_id}>"
        try:
            self.bot.client.chat_postMessage(
                channel=question.user_id,
                text=f"Sorry, I restarted before I could answer your question{where} — "
                "please ask again.",
            )
        except SlackApiError as err:
            logger.info("no DM to %s: %s", question.user_id, slack_code(err))
            return None
        except Exception as err:
            logger.info("no DM to %s: %r", question.user_id, err)
            return None
        return "by DM"
