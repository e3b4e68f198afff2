"""Stop clicks that reach another replica.

Slack delivers a click to any of the app's connections, so with several replicas the Stop
button of an answer is often pressed on a replica that is not writing it. That replica leaves
the request in the jobs table (`JobBook.request_stop`); every replica asks the table, once a
second and only while it is writing answers, whether any of them was asked to stop, and stops
those as if the click had come to it.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy.exc import SQLAlchemyError

from bot.services import BotServices

logger = logging.getLogger(__name__)

POLL_S = 1.0


class StopRelay:
    def __init__(self, bot: BotServices, poll_s: float = POLL_S) -> None:
        self.bot = bot
        self.poll_s = poll_s
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stop-relay", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(5.0)

    def poll(self) -> int:
        """Stop our answers that someone asked to stop elsewhere; returns how many."""
        running = self.bot.pool.active_ids()
        if not running:
            return 0
        stopped = 0
        for job_id in self.bot.jobs.stop_requests(running):
            job = self.bot.pool.get(job_id)
            if job is not None and not job.stop_requested:
                logger.info("answer %s stopped from another replica", job_id)
                job.stop()
                stopped += 1
        return stopped

    def _run(self) -> None:
        while not self._stopping.wait(self.poll_s):
            try:
                self.poll()
            except SQLAlchemyError:
                logger.warning("the store is unreachable: Stop clicks on other replicas wait")
            except Exception:
                logger.exception("stop relay failed")
