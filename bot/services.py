"""Everything a listener or the answer pipeline needs, built once at start-up and passed down.

One plain container instead of globals or Bolt context keys: the settings, the engine, the
answerer, the Slack client and the bot's shared state (dedupe, pacing, pool, shares).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from slack_sdk import WebClient

from bot.answerers import Answerer
from bot.budgets import Budgets
from bot.context import ConversationReader, UserDirectory
from bot.dedupe import SeenKeys
from bot.ephemeral import ShareBox
from bot.jobs import GenerationPool
from bot.metering import Meter
from bot.pacing import ChannelPacer
from bot.types import BotIdentity
from bot.usage_store import UsageLog
from engine import Engine

if TYPE_CHECKING:
    from deskhand.settings import Settings

ANSWERS_STARTING_AT_ONCE = 2


@dataclass
class BotServices:
    settings: Settings
    engine: Engine
    answerer: Answerer
    client: WebClient
    identity: BotIdentity
    reader: ConversationReader
    pool: GenerationPool
    meter: Meter  # usage per answer (cost branch)
    budgets: Budgets  # daily limits checked at admission (cost branch)
    pacer: ChannelPacer = field(default_factory=ChannelPacer)
    seen: SeenKeys = field(default_factory=SeenKeys)  # event ids and (channel, ts) answered
    handoffs: SeenKeys = field(default_factory=SeenKeys)  # questions passed to a human
    shares: ShareBox = field(default_factory=ShareBox)
    # The start of an answer (status, reading the thread, building and tokenizing the prompt)
    # is CPU work; a burst of questions takes turns here instead of competing, 200 threads at
    # once, with the Socket Mode acks for the GIL.
    start_gate: threading.Semaphore = field(
        default_factory=lambda: threading.Semaphore(ANSWERS_STARTING_AT_ONCE)
    )

    @property
    def handoff_enabled(self) -> bool:
        return bool(self.settings.escalation_channel or self.settings.handoff_mention)

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.meter.close()


def build_services(
    settings: Settings, engine: Engine, answerer: Answerer, client: WebClient, identity: BotIdentity
) -> BotServices:
    users = UserDirectory(client)
    reader = ConversationReader(client, identity, users, dm_history_limit=settings.dm_history_limit)
    pool = GenerationPool(engine.config.max_running + engine.config.max_queue)
    usage = UsageLog.open(settings.usage_db)
    meter = Meter(usage, engine, model=str(getattr(engine.info, "name", None) or "model"))
    budgets = Budgets.from_settings(settings, usage)
    return BotServices(
        settings, engine, answerer, client, identity, reader, pool, meter=meter, budgets=budgets
    )
