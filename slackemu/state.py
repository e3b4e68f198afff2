"""The workspace's state: team, users, conversations, messages, threads, ephemerals, streams.

Pure data plus the few operations that keep it consistent (posting, thread bookkeeping, lookups,
turning a message into Slack's JSON shape). It does no I/O and generates no events: the emulator
calls it and decides what Slack would deliver. Owned by the event loop thread.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

from slackemu.clock import Clock
from slackemu.ids import TsSource, stable_id

ChannelKind = Literal["channel", "group", "im"]
StreamStatus = Literal["streaming", "stopped", "stopped_by_user", "expired"]


@dataclass
class Team:
    id: str
    name: str
    domain: str


@dataclass
class User:
    id: str
    name: str
    real_name: str
    display_name: str
    is_bot: bool = False
    bot_id: str | None = None
    app_id: str | None = None
    color: str = "4bbe2e"
    created: int = 0

    @property
    def label(self) -> str:
        return self.display_name or self.real_name or self.name


@dataclass
class StreamState:
    """A message posted with chat.startStream: who owns it and whether it still accepts appends."""

    owner_app_id: str
    started_at: float
    last_append_at: float
    status: StreamStatus = "streaming"
    recipient_user_id: str | None = None


@dataclass
class Message:
    ts: str
    channel_id: str
    user: str
    text: str
    blocks: list[dict[str, Any]] | None = None
    thread_ts: str | None = None
    bot_id: str | None = None
    app_id: str | None = None
    client_msg_id: str | None = None
    subtype: str | None = None
    edited: dict[str, str] | None = None
    reactions: dict[str, list[str]] = field(default_factory=dict)
    metadata: dict[str, Any] | None = None
    attachments: list[dict[str, Any]] | None = None
    is_markdown: bool = False  # text is standard Markdown (markdown_text or a stream)
    stream: StreamState | None = None
    # Real (monotonic) time of the last change; wait_for_reply's quiet period reads it.
    modified_monotonic: float = field(default_factory=time.monotonic)

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    @property
    def is_streaming(self) -> bool:
        return self.stream is not None and self.stream.status == "streaming"

    def touch(self) -> None:
        self.modified_monotonic = time.monotonic()


@dataclass
class Conversation:
    id: str
    name: str
    kind: ChannelKind
    created: int
    members: set[str] = field(default_factory=set)
    im_user: str | None = None  # the human on the other side of a bot DM
    topic: str = ""
    purpose: str = ""
    is_general: bool = False
    messages: dict[str, Message] = field(default_factory=dict)  # ts -> message, in ts order

    @property
    def channel_type(self) -> str:
        return self.kind

    def top_level(self) -> list[Message]:
        return [m for m in self.messages.values() if not m.is_reply]

    def replies(self, parent_ts: str) -> list[Message]:
        return [m for m in self.messages.values() if m.thread_ts == parent_ts and m.is_reply]


@dataclass
class Ephemeral:
    """A message only one user sees; never in history."""

    ts: str
    channel_id: str
    user_id: str  # the one who sees it
    text: str
    blocks: list[dict[str, Any]] | None = None
    thread_ts: str | None = None
    sender: str = ""  # bot user id, or "slackbot"
    is_markdown: bool = False
    response_url_id: str | None = None


@dataclass
class ResponseUrl:
    """A response_url handed out with a slash command or an interaction: 5 uses in 30 minutes."""

    id: str
    key: str
    origin: Literal["commands", "actions"]
    created_at: float
    user_id: str
    channel_id: str
    message_ts: str | None = None  # the message a button was clicked on
    is_ephemeral_source: bool = False
    thread_ts: str | None = None
    uses: int = 0
    last_posted_ts: str | None = None  # what replace_original replaces for slash commands


@dataclass
class AssistantThread:
    status: str = ""
    loading_messages: list[str] = field(default_factory=list)
    status_set_at: float = 0.0
    title: str = ""
    prompts: list[dict[str, Any]] = field(default_factory=list)


class Workspace:
    """The whole workspace. Lookups raise KeyError; Slack error codes are the caller's business."""

    def __init__(self, team: Team, bot_user: User, clock: Clock) -> None:
        self.team = team
        self.bot_user = bot_user
        self.clock = clock
        self.ts_source = TsSource(clock)
        self.users: dict[str, User] = {bot_user.id: bot_user}
        self.conversations: dict[str, Conversation] = {}
        self.ephemerals: list[Ephemeral] = []
        self.response_urls: dict[str, ResponseUrl] = {}
        self.assistant_threads: dict[tuple[str, str], AssistantThread] = {}
        self.home_views: dict[str, dict[str, Any]] = {}  # user id -> the published Home view

    # --- lookups ---------------------------------------------------------------------------
    def user(self, ref: str) -> User:
        """A user by id, name, display name or real name (case-insensitive); KeyError if none."""
        if ref in self.users:
            return self.users[ref]
        wanted = ref.lstrip("@").lower()
        for user in self.users.values():
            if wanted in (user.name.lower(), user.display_name.lower(), user.real_name.lower()):
                return user
        raise KeyError(ref)

    def conversation(self, ref: str) -> Conversation:
        """A conversation by id or by name (`support`, `#support`); KeyError if none."""
        if ref in self.conversations:
            return self.conversations[ref]
        wanted = ref.lstrip("#").lower()
        for conv in self.conversations.values():
            if conv.kind != "im" and conv.name.lower() == wanted:
                return conv
        raise KeyError(ref)

    def bot_users(self) -> list[User]:
        return [u for u in self.users.values() if u.is_bot]

    def humans(self) -> list[User]:
        return [u for u in self.users.values() if not u.is_bot]

    def dm_with(self, user_id: str) -> Conversation:
        """The bot's DM with a user, created on first use."""
        for conv in self.conversations.values():
            if conv.kind == "im" and conv.im_user == user_id:
                return conv
        conv = Conversation(
            id=stable_id("D", f"{self.team.id}:{user_id}"),
            name=user_id,
            kind="im",
            created=int(self.clock.now()),
            members={user_id, self.bot_user.id},
            im_user=user_id,
        )
        self.conversations[conv.id] = conv
        return conv

    def message(self, conv: Conversation, ts: str) -> Message:
        return conv.messages[ts]

    # --- changes ---------------------------------------------------------------------------
    def add_message(self, conv: Conversation, user: User, text: str, **fields: Any) -> Message:
        msg = Message(
            ts=self.ts_source.next(), channel_id=conv.id, user=user.id, text=text, **fields
        )
        if user.is_bot:
            msg.bot_id = msg.bot_id or user.bot_id
            msg.app_id = msg.app_id or user.app_id
        conv.messages[msg.ts] = msg
        return msg

    def add_ephemeral(
        self, conv: Conversation, user_id: str, text: str, **fields: Any
    ) -> Ephemeral:
        eph = Ephemeral(
            ts=self.ts_source.next(), channel_id=conv.id, user_id=user_id, text=text, **fields
        )
        self.ephemerals.append(eph)
        return eph

    def assistant_thread(self, channel_id: str, thread_ts: str) -> AssistantThread:
        return self.assistant_threads.setdefault((channel_id, thread_ts), AssistantThread())

    # --- Slack's JSON shapes ---------------------------------------------------------------
    def bot_profile(self, user: User) -> dict[str, Any]:
        icons = {
            f"image_{n}": f"https://a.slack-edge.com/80588/img/plugins/app/bot_{n}.png"
            for n in (36, 48, 72)
        }
        return {
            "id": user.bot_id,
            "deleted": False,
            "name": user.label,
            "updated": user.created,
            "app_id": user.app_id,
            "icons": icons,
            "team_id": self.team.id,
        }

    def message_dict(
        self,
        conv: Conversation,
        msg: Message,
        *,
        include_metadata: bool = True,
        include_thread_summary: bool = True,
    ) -> dict[str, Any]:
        """The message as conversations.history/replies return it."""
        author = self.users.get(msg.user)
        out: dict[str, Any] = {"type": "message"}
        if msg.subtype:
            out["subtype"] = msg.subtype
        out.update(user=msg.user, text=msg.text, ts=msg.ts, team=self.team.id)
        if msg.client_msg_id:
            out["client_msg_id"] = msg.client_msg_id
        if msg.bot_id and author is not None:
            out.update(bot_id=msg.bot_id, app_id=msg.app_id, bot_profile=self.bot_profile(author))
        if msg.blocks is not None:
            out["blocks"] = msg.blocks
        if msg.attachments:
            out["attachments"] = msg.attachments
        if msg.edited:
            out["edited"] = dict(msg.edited)
        if msg.thread_ts:
            out["thread_ts"] = msg.thread_ts
            if msg.is_reply:
                parent = conv.messages.get(msg.thread_ts)
                if parent is not None:
                    out["parent_user_id"] = parent.user
        replies = conv.replies(msg.ts) if not msg.is_reply else []
        if replies and include_thread_summary:
            reply_users = list(dict.fromkeys(r.user for r in replies))
            out.update(
                thread_ts=msg.ts,
                reply_count=len(replies),
                reply_users_count=len(reply_users),
                latest_reply=replies[-1].ts,
                reply_users=reply_users,
                is_locked=False,
                subscribed=False,
            )
        if msg.reactions:
            out["reactions"] = [
                {"name": name, "users": list(users), "count": len(users)}
                for name, users in msg.reactions.items()
            ]
        if msg.metadata and include_metadata:
            out["metadata"] = msg.metadata
        return out

    def user_dict(self, user: User) -> dict[str, Any]:
        """The user as users.info returns it."""
        profile: dict[str, Any] = {
            "real_name": user.real_name,
            "display_name": user.display_name,
            "real_name_normalized": user.real_name,
            "display_name_normalized": user.display_name,
            "first_name": user.real_name.split(" ")[0],
            "last_name": " ".join(user.real_name.split(" ")[1:]),
            "title": "",
            "team": self.team.id,
            "image_72": "",
        }
        if user.is_bot:
            profile.update(bot_id=user.bot_id, api_app_id=user.app_id, always_active=True)
        return {
            "id": user.id,
            "team_id": self.team.id,
            "name": user.name,
            "deleted": False,
            "color": user.color,
            "real_name": user.real_name,
            "tz": "Europe/London",
            "tz_label": "Greenwich Mean Time",
            "tz_offset": 0,
            "profile": profile,
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": user.is_bot,
            "is_app_user": False,
            "updated": user.created,
            "is_email_confirmed": not user.is_bot,
            "who_can_share_contact_card": "EVERYONE",
        }

    def conversation_dict(self, conv: Conversation) -> dict[str, Any]:
        """The conversation as conversations.info returns it (for the bot)."""
        if conv.kind == "im":
            # NOTE: only keys Slack's recorded conversations.info samples show for IMs.
            return {
                "id": conv.id,
                "created": conv.created,
                "is_archived": False,
                "is_im": True,
                "is_org_shared": False,
                "context_team_id": self.team.id,
                "updated": conv.created * 1000,
                "last_read": "0000000000.000000",
            }
        topic = {"value": conv.topic, "creator": "", "last_set": 0}
        purpose = {"value": conv.purpose, "creator": "", "last_set": 0}
        return {
            "id": conv.id,
            "name": conv.name,
            "is_channel": conv.kind == "channel",
            "is_group": conv.kind == "group",
            "is_im": False,
            "is_mpim": False,
            "is_private": conv.kind == "group",
            "created": conv.created,
            "is_archived": False,
            "is_general": conv.is_general,
            "unlinked": 0,
            "name_normalized": conv.name,
            "is_shared": False,
            "is_org_shared": False,
            "is_ext_shared": False,
            "is_pending_ext_shared": False,
            "pending_shared": [],
            "shared_team_ids": [self.team.id],
            "context_team_id": self.team.id,
            "updated": conv.created * 1000,
            "creator": "",
            "is_member": self.bot_user.id in conv.members,
            "topic": topic,
            "purpose": purpose,
            "previous_names": [],
            "num_members": len(conv.members),
        }
