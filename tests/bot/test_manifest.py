"""The app manifest declares exactly what the code uses: events, scopes, command, buttons."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from slack_sdk import WebClient

from bot.listeners import SUBSCRIBED_EVENTS
from deskhand.settings import Settings
from slackemu import contract, specs
from slackemu.main import REPO_MANIFEST
from tests.bot.conftest import MANIFEST, REPO

STREAM_METHODS = ("chat.startStream", "chat.appendStream", "chat.stopStream")
CONVERSATION_KINDS = ("channel", "group", "im")  # public and private channels, DMs


def manifest() -> dict:
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


def web_api_methods_called() -> set[str]:
    """Slack methods called anywhere in bot/, found in the source (client.chat_postMessage...)."""
    client_methods = {name for name in dir(WebClient) if not name.startswith("_")}
    found: set[str] = set()
    for path in (REPO / "bot").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in client_methods
                and "_" in node.attr
                and node.attr not in ("api_call", "chat_stream")
            ):
                found.add(node.attr.replace("_", "."))
            if isinstance(node, ast.Attribute) and node.attr == "chat_stream":
                found.update(STREAM_METHODS)
    return found


def test_the_emulator_and_the_app_read_the_same_manifest() -> None:
    assert Path(REPO_MANIFEST) == MANIFEST


def test_events_match_the_listeners() -> None:
    assert sorted(manifest()["settings"]["event_subscriptions"]["bot_events"]) == sorted(
        SUBSCRIBED_EVENTS
    )


def test_the_slash_command_is_the_default_setting() -> None:
    commands = [c["command"] for c in manifest()["features"]["slash_commands"]]
    assert commands == [Settings.model_fields["slash_command"].default]


def test_scopes_are_exactly_those_the_code_needs() -> None:
    methods = web_api_methods_called()
    assert {
        "chat.postMessage",
        "chat.update",
        "conversations.replies",
        "users.info",
        "assistant.threads.setStatus",
        *STREAM_METHODS,
    } <= methods
    assert methods <= specs.documented_methods()
    # app_home_opened needs no scope (it is in no EVENT_SCOPES entry); every other event does.
    assert set(SUBSCRIBED_EVENTS) - set(contract.EVENT_SCOPES) == {"app_home_opened"}
    needed: set[str] = {
        contract.EVENT_SCOPES[e] for e in SUBSCRIBED_EVENTS if e in contract.EVENT_SCOPES
    } | {"commands"}
    for method in methods:
        for kind in CONVERSATION_KINDS:
            acceptable = specs.bot_scopes(method, kind)
            if acceptable:
                needed.add(acceptable[0])
    assert sorted(manifest()["oauth_config"]["scopes"]["bot"]) == sorted(needed)


def test_buttons_need_interactivity_and_socket_mode_is_the_default() -> None:
    settings = manifest()["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is True
    assert manifest()["features"]["app_home"]["messages_tab_enabled"] is True  # DMs
    assert manifest()["features"]["app_home"]["home_tab_enabled"] is True  # the usage view


def test_env_example_documents_every_setting() -> None:
    import re

    text = (REPO / ".env.example").read_text(encoding="utf-8")
    documented = set(re.findall(r"^# ?([A-Z][A-Z0-9_]+)=", text, re.MULTILINE))
    assert documented == {name.upper() for name in Settings.model_fields}


def test_procfile_runs_socket_mode_and_http() -> None:
    lines = (REPO / "Procfile").read_text(encoding="utf-8").splitlines()
    assert "worker: deskhand run --mode socket" in lines
    assert "web: deskhand run --mode http" in lines
