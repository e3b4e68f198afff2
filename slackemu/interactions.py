"""Slash commands, button clicks and response_urls: the payloads Slack sends the app for them,
and what happens to the answers (the immediate ack payload, or later POSTs to response_url:
ephemeral or in_channel, replace_original, delete_original; 5 uses within 30 minutes).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any, Literal, Protocol

from slackemu import ids
from slackemu.blocks import block_problem
from slackemu.clock import Clock
from slackemu.seed import Credentials
from slackemu.state import Conversation, Ephemeral, Message, ResponseUrl, User, Workspace

logger = logging.getLogger(__name__)

RESPONSE_URL_MAX_USES = 5
RESPONSE_URL_TTL_S = 30 * 60
CLICKABLE_TYPES = ("button", "icon_button", "feedback_buttons")


class InteractionHost(Protocol):
    """What payloads and response_url answers need of the emulator."""

    @property
    def base_url(self) -> str: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def creds(self) -> Credentials: ...
    @property
    def ws(self) -> Workspace: ...
    def bot_posted(self, conv: Conversation, msg: Message) -> None: ...
    def message_changed(
        self, conv: Conversation, msg: Message, previous: dict[str, Any]
    ) -> None: ...
    def delete_message(self, conv: Conversation, msg: Message) -> None: ...
    def ephemeral_posted(self, eph: Ephemeral) -> None: ...
    def ephemeral_removed(self, eph: Ephemeral) -> None: ...


def new_response_url(
    emu: InteractionHost,
    origin: Literal["commands", "actions"],
    user: User,
    conv: Conversation,
    *,
    message_ts: str | None = None,
    is_ephemeral_source: bool = False,
    thread_ts: str | None = None,
) -> ResponseUrl:
    rurl = ResponseUrl(
        id=str(10**12 + len(emu.ws.response_urls)),
        key=ids.secret_key(),
        origin=origin,
        created_at=emu.clock.now(),
        user_id=user.id,
        channel_id=conv.id,
        message_ts=message_ts,
        is_ephemeral_source=is_ephemeral_source,
        thread_ts=thread_ts,
    )
    emu.ws.response_urls[rurl.id] = rurl
    return rurl


def response_url_str(emu: InteractionHost, rurl: ResponseUrl) -> str:
    return f"{emu.base_url}/{rurl.origin}/{emu.ws.team.id}/{rurl.id}/{rurl.key}"


def slash_command_payload(
    emu: InteractionHost, user: User, conv: Conversation, command: str, text: str, rurl: ResponseUrl
) -> dict[str, Any]:
    ws = emu.ws
    return {
        "token": emu.creds.verification_token,
        "team_id": ws.team.id,
        "team_domain": ws.team.domain,
        "channel_id": conv.id,
        "channel_name": "directmessage" if conv.kind == "im" else conv.name,
        "user_id": user.id,
        "user_name": user.name,
        "command": command,
        "text": text,
        "api_app_id": ws.bot_user.app_id,
        "is_enterprise_install": "false",
        "response_url": response_url_str(emu, rurl),
        "trigger_id": ids.trigger_id(),
    }


def find_clickable(
    blocks: list[dict[str, Any]] | None, action_id: str, block_id: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(block, element) for the first clickable element with this action_id."""
    for block, element in interactive_elements(blocks, block_id):
        if element.get("type") in CLICKABLE_TYPES and element.get("action_id") == action_id:
            return block, element
    return None


def interactive_elements(
    blocks: list[dict[str, Any]] | None, block_id: str | None = None
) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(block, element) for each element and accessory, in the block with block_id if given."""
    for block in blocks or []:
        if block_id is not None and block.get("block_id") != block_id:
            continue
        elements = list(block.get("elements") or [])
        if isinstance(block.get("accessory"), dict):
            elements.append(block["accessory"])
        for element in elements:
            yield block, element


def clickables(blocks: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Every clickable element (button, icon_button, feedback_buttons) in the blocks."""
    found = []
    for block in blocks or []:
        elements = list(block.get("elements") or [])
        if isinstance(block.get("accessory"), dict):
            elements.append(block["accessory"])
        found += [e for e in elements if e.get("type") in CLICKABLE_TYPES]
    return found


def block_actions_payload(
    emu: InteractionHost,
    user: User,
    conv: Conversation,
    source: Message | Ephemeral,
    block: dict[str, Any],
    element: dict[str, Any],
    value: str | None,
    rurl: ResponseUrl,
) -> dict[str, Any]:
    ws = emu.ws
    is_ephemeral = isinstance(source, Ephemeral)
    action: dict[str, Any] = {
        "action_id": element["action_id"],
        "block_id": block.get("block_id", ""),
        "type": element["type"],
        "action_ts": ids.format_ts(int(emu.clock.now() * 1_000_000)),
    }
    if element["type"] == "feedback_buttons":
        positive = element.get("positive_button", {})
        negative = element.get("negative_button", {})
        chosen = negative if value is not None and value == negative.get("value") else positive
        action.update(value=chosen.get("value", ""), text=chosen.get("text"))
    else:
        action.update(
            text=element.get("text"), value=value if value is not None else element.get("value", "")
        )
        if element.get("style"):
            action["style"] = element["style"]
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": source.ts,
        "channel_id": conv.id,
        "is_ephemeral": is_ephemeral,
    }
    if source.thread_ts:
        container["thread_ts"] = source.thread_ts
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user.id, "username": user.name, "name": user.name, "team_id": ws.team.id},
        "api_app_id": ws.bot_user.app_id,
        "token": emu.creds.verification_token,
        "container": container,
        "trigger_id": ids.trigger_id(),
        "team": {"id": ws.team.id, "domain": ws.team.domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": conv.id, "name": "directmessage" if conv.kind == "im" else conv.name},
        "state": {"values": {}},
        "response_url": response_url_str(emu, rurl),
        "actions": [action],
    }
    if isinstance(source, Message):
        payload["message"] = ws.message_dict(conv, source)
    return payload


def apply_response(emu: InteractionHost, rurl: ResponseUrl, body: dict[str, Any]) -> str | None:
    """Carry out a message response (ack payload or response_url POST); an error code or None."""
    ws = emu.ws
    conv = ws.conversations.get(rurl.channel_id)
    if conv is None:
        return "channel_not_found"
    if body.get("delete_original") in (True, "true"):
        return _delete_original(emu, rurl, conv)
    text = str(body.get("text") or "")
    blocks = body.get("blocks")
    if blocks is not None:
        if block_problem(blocks) is not None:
            return "invalid_blocks"
        blocks = [b if b.get("block_id") else {**b, "block_id": ids.block_id()} for b in blocks]
    if not text and not blocks:
        return "no_text"
    if body.get("replace_original") in (True, "true"):
        return _replace_original(emu, rurl, conv, text, blocks)
    thread_ts = body.get("thread_ts") or rurl.thread_ts
    if body.get("response_type") == "in_channel":
        msg = ws.add_message(conv, ws.bot_user, text, blocks=blocks, thread_ts=thread_ts)
        rurl.last_posted_ts = msg.ts
        emu.bot_posted(conv, msg)
    else:
        eph = ws.add_ephemeral(
            conv,
            rurl.user_id,
            text,
            blocks=blocks,
            thread_ts=thread_ts,
            sender=ws.bot_user.id,
            response_url_id=rurl.id,
        )
        rurl.last_posted_ts = eph.ts
        emu.ephemeral_posted(eph)
    return None


def _original(
    emu: InteractionHost, rurl: ResponseUrl, conv: Conversation
) -> Message | Ephemeral | None:
    ts = rurl.message_ts if rurl.origin == "actions" else rurl.last_posted_ts
    if ts is None:
        return None
    if ts in conv.messages:
        return conv.messages[ts]
    return next((e for e in emu.ws.ephemerals if e.ts == ts and e.user_id == rurl.user_id), None)


def _replace_original(
    emu: InteractionHost,
    rurl: ResponseUrl,
    conv: Conversation,
    text: str,
    blocks: list[dict[str, Any]] | None,
) -> str | None:
    original = _original(emu, rurl, conv)
    if original is None:
        return "message_not_found"
    if isinstance(original, Ephemeral):
        original.text, original.blocks, original.is_markdown = text, blocks, False
        emu.ephemeral_posted(original)
        return None
    previous = emu.ws.message_dict(conv, original)
    original.text, original.blocks, original.is_markdown = text, blocks, False
    emu.message_changed(conv, original, previous)
    return None


def _delete_original(emu: InteractionHost, rurl: ResponseUrl, conv: Conversation) -> str | None:
    original = _original(emu, rurl, conv)
    if original is None:
        return "message_not_found"
    if isinstance(original, Ephemeral):
        emu.ws.ephemerals.remove(original)
        emu.ephemeral_removed(original)
        return None
    emu.delete_message(conv, original)
    return None


def find_select(
    blocks: list[dict[str, Any]] | None, action_id: str, value: str, block_id: str | None = None
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]] | None:
    """(block, static_select element, the option with this value), or None."""
    for block, element in interactive_elements(blocks, block_id):
        if element.get("type") != "static_select" or element.get("action_id") != action_id:
            continue
        option = next((o for o in element.get("options") or [] if o.get("value") == value), None)
        if option is not None:
            return block, element, option
    return None


def view_select_payload(
    emu: InteractionHost,
    user: User,
    view: dict[str, Any],
    block: dict[str, Any],
    element: dict[str, Any],
    option: dict[str, Any],
) -> dict[str, Any]:
    """block_actions for a choice in a static_select on a view (the Home tab), shaped like
    Slack's: container type "view", the view with its state, no response_url or channel."""
    ws = emu.ws
    block_id = str(block.get("block_id", ""))
    selected = {"text": option.get("text"), "value": option["value"]}
    action: dict[str, Any] = {
        "type": "static_select",
        "action_id": element["action_id"],
        "block_id": block_id,
        "selected_option": selected,
        "action_ts": ids.format_ts(int(emu.clock.now() * 1_000_000)),
    }
    if element.get("placeholder"):
        action["placeholder"] = element["placeholder"]
    state = {
        "values": {
            block_id: {element["action_id"]: {"type": "static_select", "selected_option": selected}}
        }
    }
    return {
        "type": "block_actions",
        "user": {"id": user.id, "username": user.name, "name": user.name, "team_id": ws.team.id},
        "api_app_id": ws.bot_user.app_id,
        "token": emu.creds.verification_token,
        "container": {"type": "view", "view_id": view["id"]},
        "trigger_id": ids.trigger_id(),
        "team": {"id": ws.team.id, "domain": ws.team.domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "view": {**view, "state": state},
        "actions": [action],
        "state": state,
    }
