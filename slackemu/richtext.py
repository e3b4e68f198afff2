"""Message text as a Slack client produces it: typed text escaped into mrkdwn wire format,
`@Name` turned into `<@U…>`, and the `rich_text` blocks Slack attaches to human messages.

Pure functions; no knowledge of the workspace beyond the name → id map they are given.
"""

from __future__ import annotations

import html
import re
from typing import Any

from slackemu.ids import block_id

# Slack's angle-bracket entities: <@U…>, <#C…|name>, <!here>, <!subteam^S…>, <https://…|label>.
ENTITY_RE = re.compile(
    r"<(@[UW][A-Z0-9]+(?:\|[^>]*)?|#[CGD][A-Z0-9]+(?:\|[^>]*)?|![a-z^A-Z0-9_]+"
    r"(?:\|[^>]*)?|(?:https?|mailto):[^>|\s]+(?:\|[^>]*)?)>"
)


def encode_typed_text(text: str) -> str:
    """Escape `&`, `<`, `>` the way Slack clients do, keeping well-formed entities as they are."""
    out: list[str] = []
    pos = 0
    for match in ENTITY_RE.finditer(text):
        out.append(_escape(text[pos : match.start()]))
        out.append(match.group(0))
        pos = match.end()
    out.append(_escape(text[pos:]))
    return "".join(out)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link_names(text: str, names: dict[str, str]) -> str:
    """Replace `@Name` (a user's name, display name or real name) with `<@U…>`, longest first."""
    for name in sorted(names, key=len, reverse=True):
        pattern = re.compile(r"(?<![\w<])@" + re.escape(name) + r"\b", re.IGNORECASE)
        text = pattern.sub(f"<@{names[name]}>", text)
    return text


def mentioned_user_ids(text: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>", text)]


def rich_text_blocks(text: str) -> list[dict[str, Any]]:
    """The single `rich_text` block a Slack client sends along with a typed message."""
    elements: list[dict[str, Any]] = []
    pos = 0
    for match in ENTITY_RE.finditer(text):
        _append_text(elements, text[pos : match.start()])
        elements.append(_entity_element(match.group(1)))
        pos = match.end()
    _append_text(elements, text[pos:])
    return [
        {
            "type": "rich_text",
            "block_id": block_id(),
            "elements": [{"type": "rich_text_section", "elements": elements}],
        }
    ]


def _append_text(elements: list[dict[str, Any]], raw: str) -> None:
    if raw:
        elements.append({"type": "text", "text": html.unescape(raw)})


def _entity_element(body: str) -> dict[str, Any]:
    target, _, label = body.partition("|")
    if target.startswith("@"):
        return {"type": "user", "user_id": target[1:]}
    if target.startswith("#"):
        return {"type": "channel", "channel_id": target[1:]}
    if target.startswith("!"):
        return {"type": "broadcast", "range": target[1:].split("^")[0]}
    element: dict[str, Any] = {"type": "link", "url": target}
    if label:
        element["text"] = label
    return element
