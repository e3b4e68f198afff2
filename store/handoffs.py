""" "Ask a human" claims: a question is passed to a human once, whoever clicks, whenever."""

from __future__ import annotations

import time

from store.database import Store
from store.schema import handoffs


def claim_handoff(store: Store, channel: str, source_ts: str, user_id: str | None) -> bool:
    """True for the first click on this question ever (any replica, any restart)."""
    with store.begin() as conn:
        return store.insert_ignore(
            conn,
            handoffs,
            {
                "channel": channel,
                "source_ts": source_ts,
                "user_id": user_id,
                "claimed_at": time.time(),
            },
        )
