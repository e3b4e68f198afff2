"""The answer modes admins set from Slack: one row per channel ("dm" and "default" too), the
last choice wins. kb.route.ChannelModes layers these over CHANNEL_MODES."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import select

from store.database import Store
from store.schema import channel_modes


@dataclass(frozen=True, slots=True)
class ModeChoice:
    channel: str  # a channel id, "dm" or "default"
    mode: str  # kb | assistant | auto
    set_by: str
    set_at: float


class ChannelModeBook:
    """Reads and writes the `channel_modes` table."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def all(self) -> dict[str, ModeChoice]:
        with self.store.begin() as conn:
            rows = conn.execute(select(channel_modes)).all()
        return {r.channel: ModeChoice(r.channel, r.mode, r.set_by, r.set_at) for r in rows}

    def put(self, channel: str, mode: str, set_by: str) -> ModeChoice:
        choice = ModeChoice(channel, mode, set_by, time.time())
        row = {"channel": channel, "mode": mode, "set_by": set_by, "set_at": choice.set_at}
        with self.store.begin() as conn:
            self.store.upsert(conn, channel_modes, row, ["channel"])
        return choice
