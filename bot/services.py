"""Everything a listener or the answer pipeline needs, built once at start-up and passed down.

One plain container instead of globals or Bolt context keys: the settings, the engine, the
answerer, the Slack client, the durable store (jobs, hand-offs) and the bot's in-memory state
(pacing, pool, shares).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from slack_sdk import WebClient
from sqlalchemy.exc import SQLAlchemyError

from bot.answer.answerers import Answerer
from bot.answer.jobs import GenerationPool
from bot.answer.reader import ConversationReader, UserDirectory
from bot.slack.acks import AckReceipts
from bot.slack.ephemeral_reply import ShareBox
from bot.slack.pacing import ChannelPacer
from bot.types import BotIdentity
from bot.usage.budgets import Budgets
from bot.usage.log import UsageLog
from bot.usage.meter import Meter
from engine import GenerationEngine
from kb.route import ChannelModes
from store import Store
from store.channel_modes import ChannelModeBook
from store.handoffs import claim_handoff
from store.jobs import JobBook

if TYPE_CHECKING:
    from bot.config import BotConfig

logger = logging.getLogger(__name__)

ANSWERS_STARTING_AT_ONCE = 2
CLAIMS_AT_ONCE = 2


class DurableHandoffs:
    """ "Ask a human" claims kept in the store: one hand-off per question, across restarts and
    replicas. `claim((channel, source_ts))` is True for the first click only."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def claim(self, key: tuple[Hashable, ...], user_id: str | None = None) -> bool:
        channel, source_ts = (str(part) for part in key)
        try:
            return claim_handoff(self.store, channel, source_ts, user_id)
        except SQLAlchemyError:
            logger.exception("could not record the hand-off of %s/%s", channel, source_ts)
            return True  # better a second ping than no human at all


@dataclass
class BotServices:
    settings: BotConfig
    engine: GenerationEngine
    answerer: Answerer
    client: WebClient
    identity: BotIdentity
    reader: ConversationReader
    pool: GenerationPool
    store: Store
    jobs: JobBook  # this replica's view of the durable jobs
    meter: Meter  # one usage row per answer that ends
    budgets: Budgets  # daily limits checked at admission
    pacer: ChannelPacer = field(default_factory=ChannelPacer)
    shares: ShareBox = field(default_factory=ShareBox)
    acks: AckReceipts = field(default_factory=AckReceipts)  # slash-command acks sent
    handoffs: DurableHandoffs = field(init=False)
    # The start of an answer (status, reading the thread, building and tokenizing the prompt)
    # is CPU work; a burst of questions takes turns here instead of competing, 200 threads at
    # once, with the Socket Mode acks for the GIL.
    start_gate: threading.Semaphore = field(
        default_factory=lambda: threading.Semaphore(ANSWERS_STARTING_AT_ONCE)
    )

    # Claims are database round trips: in a burst, a couple at a time keeps the other listener
    # threads asleep instead of fighting the Socket Mode acks for the GIL.
    claim_gate: threading.Semaphore = field(
        default_factory=lambda: threading.Semaphore(CLAIMS_AT_ONCE)
    )

    def __post_init__(self) -> None:
        self.handoffs = DurableHandoffs(self.store)

    @property
    def handoff_enabled(self) -> bool:
        return bool(self.settings.escalation_channel or self.settings.handoff_mention)

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.meter.close()


def replica_id() -> str:
    """This process's name in the store: host, pid and a random tag (a restart is new)."""
    return f"{socket.gethostname()[:32]}-{os.getpid()}-{secrets.token_hex(3)}"


def build_services(
    settings: BotConfig,
    engine: GenerationEngine,
    answerer: Answerer,
    client: WebClient,
    identity: BotIdentity,
    store: Store,
) -> BotServices:
    users = UserDirectory(client)
    reader = ConversationReader(client, identity, users, dm_history_limit=settings.dm_history_limit)
    pool = GenerationPool(engine.config.max_running + engine.config.max_queue)
    jobs = JobBook(store, replica_id())
    usage = UsageLog(store)
    meter = Meter(usage, engine, model=engine.info.name)
    budgets = Budgets.from_settings(settings, usage)
    modes = channel_modes_of(answerer)
    if modes is not None:
        modes.attach(ChannelModeBook(store))  # admins' choices from App Home, durable
    return BotServices(
        settings, engine, answerer, client, identity, reader, pool, store, jobs, meter, budgets
    )


def channel_modes_of(answerer: Answerer) -> ChannelModes | None:
    """The answerer's channel modes (an answerer over a KB has them), else None."""
    return answerer.channel_modes
