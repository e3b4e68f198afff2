"""The starting workspace: a small default ("Deskhand Sandbox", #general and #support, three
humans and one other bot), overridable by a seed dict or JSON file, plus the app's identity.

Ids and tokens are deterministic, so the tokens printed by `deskhand sandbox` stay valid
across restarts. Seed keys: team, users, other_bots, channels, tokens, bot (all optional).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slackemu.clock import Clock
from slackemu.ids import stable_id
from slackemu.manifest import AppConfig
from slackemu.state import Conversation, Team, User, Workspace

DEFAULT_SEED: dict[str, Any] = {
    "team": {"name": "Deskhand Sandbox", "domain": "deskhand-sandbox"},
    "users": [
        {"name": "ada", "real_name": "Ada Lovelace", "display_name": "Ada", "color": "9f69e7"},
        {"name": "grace", "real_name": "Grace Hopper", "display_name": "Grace", "color": "e7392d"},
        {
            "name": "linus",
            "real_name": "Linus Torvalds",
            "display_name": "Linus",
            "color": "3c989f",
        },
    ],
    # Bots of other apps: their messages carry bot_id, to exercise loop prevention.
    "other_bots": [{"name": "otterbot", "real_name": "Otterbot", "display_name": "Otterbot"}],
    "channels": [
        {
            "name": "general",
            "purpose": "Company-wide chatter",
            "members": "*",
            "bot": True,
            "is_general": True,
        },
        {"name": "support", "purpose": "Ask questions, get answers", "members": "*", "bot": True},
    ],
}

DEFAULT_TOKENS = {
    "bot": "xoxb-1000000001-2000000002-DeskhandSandboxBotToken",
    "app": "xapp-1-{app_id}-3000000003-DeskhandSandboxAppToken",
    "signing_secret": "deskhand-sandbox-signing-secret",
    "verification_token": "SandboxVerificationToken",
}


@dataclass(frozen=True)
class Credentials:
    bot_token: str
    app_token: str
    signing_secret: str
    verification_token: str


def load_seed(seed: str | Path | dict[str, Any] | None) -> dict[str, Any]:
    """The seed merged over the default: a dict, a JSON file, or None for the default alone."""
    if seed is None:
        return dict(DEFAULT_SEED)
    loaded: dict[str, Any] = (
        seed if isinstance(seed, dict) else json.loads(Path(seed).read_text(encoding="utf-8"))
    )
    return {**DEFAULT_SEED, **loaded}


def credentials_from_seed(seed: dict[str, Any], app_id: str) -> Credentials:
    tokens = {**DEFAULT_TOKENS, **seed.get("tokens", {})}
    tokens["app"] = tokens["app"].replace("{app_id}", app_id)
    if not tokens["bot"].startswith("xoxb-") or not tokens["app"].startswith("xapp-"):
        raise ValueError("seed tokens: bot must start with xoxb-, app with xapp-")
    return Credentials(
        tokens["bot"], tokens["app"], tokens["signing_secret"], tokens["verification_token"]
    )


def build_workspace(seed: dict[str, Any], app: AppConfig, clock: Clock) -> Workspace:
    """Create the team, the bot user, the humans, other bots and channels described by the seed."""
    created = int(clock.now()) - 86_400
    team_seed = seed.get("team", {})
    team_name = team_seed.get("name", "Deskhand Sandbox")
    team = Team(
        id=team_seed.get("id") or stable_id("T", team_name),
        name=team_name,
        domain=team_seed.get("domain") or _slug(team_name),
    )
    bot_seed = seed.get("bot", {})
    bot_user = User(
        id=bot_seed.get("user_id") or stable_id("U", f"bot:{app.app_name}"),
        name=bot_seed.get("name") or _slug(app.bot_display_name),
        real_name=app.app_name,
        display_name=app.bot_display_name,
        is_bot=True,
        bot_id=bot_seed.get("bot_id") or stable_id("B", f"bot:{app.app_name}"),
        app_id=bot_seed.get("app_id") or stable_id("A", f"app:{app.app_name}"),
        color="e0a729",
        created=created,
    )
    ws = Workspace(team, bot_user, clock)
    for u in seed.get("users", []):
        user = _user(u, created)
        ws.users[user.id] = user
    for b in seed.get("other_bots", []):
        user = _user(b, created)
        user.is_bot = True
        user.bot_id = b.get("bot_id") or stable_id("B", f"bot:{user.name}")
        user.app_id = b.get("app_id") or stable_id("A", f"app:{user.name}")
        ws.users[user.id] = user
    for c in seed.get("channels", []):
        is_private = bool(c.get("private", False))
        conv = Conversation(
            id=c.get("id") or stable_id("G" if is_private else "C", c["name"]),
            name=c["name"],
            kind="group" if is_private else "channel",
            created=created,
            topic=c.get("topic", ""),
            purpose=c.get("purpose", ""),
            is_general=bool(c.get("is_general", False)),
        )
        members = c.get("members", "*")
        if members == "*":
            conv.members = {u.id for u in ws.users.values() if not u.is_bot}
        else:
            conv.members = {ws.user(ref).id for ref in members}
        if c.get("bot", True):
            conv.members.add(bot_user.id)
        conv.members |= {ws.user(ref).id for ref in c.get("bots", [])}
        ws.conversations[conv.id] = conv
    for other in ws.bot_users():
        if other.id != bot_user.id and not any(
            other.id in c.members for c in ws.conversations.values()
        ):
            general = next((c for c in ws.conversations.values() if c.is_general), None)
            if general is not None:
                general.members.add(other.id)
    for human in ws.humans():
        ws.dm_with(human.id)
    return ws


def _user(spec: dict[str, Any], created: int) -> User:
    name = spec["name"]
    return User(
        id=spec.get("id") or stable_id("U", name),
        name=name,
        real_name=spec.get("real_name", name.title()),
        display_name=spec.get("display_name", name.title()),
        color=spec.get("color", "4bbe2e"),
        created=created,
    )


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "app"
