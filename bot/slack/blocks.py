"""Block Kit builders for everything the bot posts: the answer body, its Stop button, the footer
(sources, notes), 👍/👎, "Ask a human", "Share to channel", and message metadata.

Pure: dicts in, dicts out. Action ids are the contract with `bot.listeners.actions`.
"""

from __future__ import annotations

from typing import Any

from bot.types import FinalReply, Source

STOP_ACTION = "deskhand_stop"
FEEDBACK_ACTION = "deskhand_feedback"
HANDOFF_ACTION = "deskhand_handoff"
SHARE_ACTION = "deskhand_share"
ANSWER_EVENT = "deskhand_answer"  # metadata event_type on answer messages
NOTICE_EVENT = "deskhand_notice"  # busy, error and other one-line replies
QUESTION_EVENT = "deskhand_question"  # a /ask question the bot posted for a user
MAX_CONTEXT_TEXT = 2_900
MAX_NOTE_TEXT = 300

Block = dict[str, Any]


def markdown_block(text: str) -> Block:
    return {"type": "markdown", "text": text or "…"}


def stop_actions(job_id: str) -> Block:
    return {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "action_id": STOP_ACTION,
                "value": job_id,
                "style": "danger",
                "text": {"type": "plain_text", "text": "Stop"},
            }
        ],
    }


def footer_blocks(
    final: FinalReply,
    *,
    feedback: bool,
    handoff: bool,
    source_ts: str = "",
    share_id: str | None = None,
) -> list[Block]:
    """Blocks under an answer: a compact context line, then the buttons that apply."""
    blocks: list[Block] = []
    context = context_text(final.sources, final.notes)
    if context:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    buttons: list[Block] = []
    if share_id is not None:
        buttons.append(_button("Share to channel", SHARE_ACTION, share_id, style="primary"))
    if handoff and final.handoff:
        buttons.append(_button("Ask a human", HANDOFF_ACTION, source_ts))
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    if feedback and not final.abstained:
        blocks.append(feedback_block(final.answer_ref))
    return blocks


def feedback_block(answer_ref: str) -> Block:
    return {
        "type": "context_actions",
        "elements": [
            {
                "type": "feedback_buttons",
                "action_id": FEEDBACK_ACTION,
                "positive_button": {
                    "text": {"type": "plain_text", "text": "Helpful"},
                    "value": f"up:{answer_ref}",
                    "accessibility_label": "This answer was helpful",
                },
                "negative_button": {
                    "text": {"type": "plain_text", "text": "Not helpful"},
                    "value": f"down:{answer_ref}",
                    "accessibility_label": "This answer was not helpful",
                },
            }
        ],
    }


def context_text(sources: list[Source], notes: list[str]) -> str:
    """'Sources: <url|Title>, Title · note · note' in mrkdwn (escaped), '' when empty; within
    MAX_CONTEXT_TEXT without cutting a link or an entity: sources that do not fit are counted
    ("+2 more"), a note too long is shortened before it is escaped."""
    note_parts = [fit_escaped(note, MAX_NOTE_TEXT) for note in notes]
    notes_text = " · ".join(note_parts)
    room = MAX_CONTEXT_TEXT - len(notes_text) - (len(" · ") if notes_text else 0)
    parts = [_sources_text(sources, room)] if sources else []
    return " · ".join(part for part in [*parts, notes_text] if part)


def _sources_text(sources: list[Source], room: int) -> str:
    names = [_source_name(s) for s in sources]
    shown: list[str] = []
    for index, name in enumerate(names):
        more = _more(len(names) - index - 1)
        if len("Sources: " + ", ".join([*shown, name]) + more) > room:
            break
        shown.append(name)
    if not shown:  # not even one link fits: its title alone, shortened
        more = _more(len(names) - 1)
        title = fit_escaped(sources[0].title, room - len("Sources: ") - len(more))
        return "Sources: " + title + more if title else ""
    return "Sources: " + ", ".join(shown) + _more(len(names) - len(shown))


def _source_name(source: Source) -> str:
    title = mrkdwn_escape(source.title)
    return f"<{source.url}|{title}>" if source.url and _safe_url(source.url) else title


def _more(count: int) -> str:
    return f" (+{count} more)" if count else ""


def fit_escaped(text: str, limit: int) -> str:
    """mrkdwn_escape(text), shortened (with "…") before escaping so it fits in `limit`."""
    escaped = mrkdwn_escape(text)
    if len(escaped) <= limit:
        return escaped
    if limit < 2:
        return ""
    cut = min(len(text), limit - 1)
    while cut > 0 and len(mrkdwn_escape(text[:cut])) > limit - 1:
        cut -= max(1, (len(mrkdwn_escape(text[:cut])) - (limit - 1)) // 5)
    return mrkdwn_escape(text[: max(cut, 0)]) + "…"


def answer_metadata(source_ts: str, part: int, *, streaming: bool) -> dict[str, Any]:
    """Metadata on every answer message: which question it answers, which part, and whether it
    is still being written (so readers do not take a half-written message for the answer)."""
    return {
        "event_type": ANSWER_EVENT,
        "event_payload": {"source_ts": source_ts, "part": part, "streaming": streaming},
    }


def notice_metadata(source_ts: str, kind: str) -> dict[str, Any]:
    return {"event_type": NOTICE_EVENT, "event_payload": {"source_ts": source_ts, "kind": kind}}


def question_metadata(user_id: str) -> dict[str, Any]:
    return {"event_type": QUESTION_EVENT, "event_payload": {"user_id": user_id}}


def mrkdwn_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _button(label: str, action_id: str, value: str, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "action_id": action_id,
        "value": value,
        "text": {"type": "plain_text", "text": label},
    }
    if style:
        button["style"] = style
    return button


def _safe_url(url: str) -> bool:
    return url.startswith(("https://", "http://")) and not any(c in url for c in "<>| ")
