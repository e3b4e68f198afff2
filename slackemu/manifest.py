"""The app's configuration as the emulator needs it, read from a standard Slack app manifest.

The same manifest JSON the real app is installed with decides the bot's scopes, its event
subscriptions, its slash commands, and whether events go over Socket Mode or to a request URL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_MANIFEST_PATH = Path(__file__).with_name("default_manifest.json")

# Message event subscriptions, keyed by the conversation type they cover.
MESSAGE_SUBSCRIPTIONS = {
    "channel": "message.channels",
    "group": "message.groups",
    "im": "message.im",
    "mpim": "message.mpim",
}


@dataclass(frozen=True)
class SlashCommand:
    command: str
    description: str = ""
    usage_hint: str = ""
    should_escape: bool = False
    url: str | None = None


@dataclass(frozen=True)
class AppConfig:
    """What the manifest says, in the emulator's terms."""

    app_name: str
    bot_display_name: str
    bot_scopes: frozenset[str]
    bot_events: frozenset[str]
    slash_commands: dict[str, SlashCommand] = field(default_factory=dict)
    socket_mode_enabled: bool = True
    interactivity_enabled: bool = False
    home_tab_enabled: bool = False
    event_request_url: str | None = None
    interactivity_request_url: str | None = None

    def subscribes_to_messages_in(self, channel_type: str) -> bool:
        return MESSAGE_SUBSCRIPTIONS.get(channel_type, "") in self.bot_events

    def command_url(self, command: str) -> str | None:
        slash = self.slash_commands.get(command)
        return (slash.url if slash else None) or self.event_request_url

    def with_request_url(self, url: str) -> AppConfig:
        """HTTP delivery to one URL for events, commands and interactivity (Socket Mode off)."""
        commands = {
            name: SlashCommand(c.command, c.description, c.usage_hint, c.should_escape, url)
            for name, c in self.slash_commands.items()
        }
        return AppConfig(
            app_name=self.app_name,
            bot_display_name=self.bot_display_name,
            bot_scopes=self.bot_scopes,
            bot_events=self.bot_events,
            slash_commands=commands,
            socket_mode_enabled=False,
            interactivity_enabled=self.interactivity_enabled,
            home_tab_enabled=self.home_tab_enabled,
            event_request_url=url,
            interactivity_request_url=url,
        )


def load_manifest(manifest: str | Path | dict[str, Any] | None) -> dict[str, Any]:
    """The manifest as a dict: from a dict, a JSON file path, or the bundled default."""
    if manifest is None:
        manifest = DEFAULT_MANIFEST_PATH
    if isinstance(manifest, dict):
        return manifest
    return json.loads(Path(manifest).read_text(encoding="utf-8"))


def app_config_from_manifest(manifest: dict[str, Any]) -> AppConfig:
    display = manifest.get("display_information", {})
    features = manifest.get("features", {})
    settings = manifest.get("settings", {})
    subscriptions = settings.get("event_subscriptions", {})
    interactivity = settings.get("interactivity", {})
    app_name = display.get("name") or "Sandbox App"
    commands = {
        c["command"]: SlashCommand(
            command=c["command"],
            description=c.get("description", ""),
            usage_hint=c.get("usage_hint", ""),
            should_escape=bool(c.get("should_escape", False)),
            url=c.get("url"),
        )
        for c in features.get("slash_commands", [])
    }
    return AppConfig(
        app_name=app_name,
        bot_display_name=features.get("bot_user", {}).get("display_name") or app_name,
        bot_scopes=frozenset(manifest.get("oauth_config", {}).get("scopes", {}).get("bot", [])),
        bot_events=frozenset(subscriptions.get("bot_events", [])),
        slash_commands=commands,
        socket_mode_enabled=bool(settings.get("socket_mode_enabled", False)),
        interactivity_enabled=bool(interactivity.get("is_enabled", False)),
        home_tab_enabled=bool(features.get("app_home", {}).get("home_tab_enabled", False)),
        event_request_url=subscriptions.get("request_url"),
        interactivity_request_url=interactivity.get("request_url"),
    )
