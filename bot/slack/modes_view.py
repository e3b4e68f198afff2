"""The "Answer modes" section of App Home, shown to ADMIN_USERS only: one line per channel
(and one for DMs, one for every other channel) with its mode and a static_select to change
it. Pure Block Kit; no Slack calls here (bot/listeners/home.py gathers the rows)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from kb.route import MODES

MODE_ACTION = "deskhand_channel_mode"
BLOCK_PREFIX = "mode:"  # block_id = "mode:<channel id | dm | default>"
MAX_CHANNEL_ROWS = 40  # a Home view holds 100 blocks; the usage view takes ~12
MODE_LABELS = {
    "kb": "kb: answer from the documents or hand off",
    "assistant": "assistant: general assistant",
    "auto": "auto: pick per question",
}


@dataclass(frozen=True, slots=True)
class ModeRow:
    key: str  # channel id, "dm" or "default"
    label: str  # "<#C123>", "Direct messages", "Other channels"
    mode: str
    origin: str  # "set by <@U1> 2026-12-03 11:20 UTC" | "CHANNEL_MODES" | "default"


def block_key(block_id: str) -> str | None:
    """The channel key a mode select's block_id names, or None for another block."""
    return block_id.removeprefix(BLOCK_PREFIX) if block_id.startswith(BLOCK_PREFIX) else None


def origin_of(set_by: str, set_at: float) -> str:
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(set_at))
    return f"set by <@{set_by}> {when}" if set_by else f"set {when}"


def modes_blocks(rows: list[ModeRow], *, notice: str = "") -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [
        {"type": "divider"},
        {"type": "header", "text": {"type": "plain_text", "text": "Answer modes"}},
        _context(
            "Admins only. *kb* answers from the documents or hands off, *assistant* is a "
            "general assistant with the thread as context, *auto* picks per question. "
            "A change applies to the next question (every replica within seconds)."
        ),
    ]
    if notice:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": notice}})
    for row in rows[: MAX_CHANNEL_ROWS + 2]:
        blocks.append(
            {
                "type": "section",
                "block_id": BLOCK_PREFIX + row.key,
                "text": {
                    "type": "mrkdwn",
                    "text": f"*{row.label}* · *{row.mode}*\n_{row.origin}_",
                },
                "accessory": _mode_select(row.mode),
            }
        )
    return blocks


def _mode_select(current: str) -> dict[str, Any]:
    options = [_option(mode) for mode in MODES]
    select: dict[str, Any] = {
        "type": "static_select",
        "action_id": MODE_ACTION,
        "placeholder": {"type": "plain_text", "text": "Mode"},
        "options": options,
    }
    if current in MODES:
        select["initial_option"] = _option(current)
    return select


def _option(mode: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": MODE_LABELS[mode]}, "value": mode}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}
