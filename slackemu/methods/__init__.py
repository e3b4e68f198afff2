"""The Web API methods the emulator serves, by name. One module per family of methods."""

from __future__ import annotations

from slackemu.methods import chat, conversations, misc, streams, views
from slackemu.methods.base import MethodSpec

BOT = frozenset({"bot"})
APP = frozenset({"app"})

METHODS: dict[str, MethodSpec] = {
    "auth.test": MethodSpec(misc.auth_test, BOT),
    "apps.connections.open": MethodSpec(misc.apps_connections_open, APP),
    "team.info": MethodSpec(misc.team_info, BOT),
    "bots.info": MethodSpec(misc.bots_info, BOT),
    "users.info": MethodSpec(misc.users_info, BOT),
    "reactions.add": MethodSpec(misc.reactions_add, BOT),
    "reactions.remove": MethodSpec(misc.reactions_remove, BOT),
    "assistant.threads.setStatus": MethodSpec(misc.assistant_set_status, BOT),
    "assistant.threads.setTitle": MethodSpec(misc.assistant_set_title, BOT),
    "assistant.threads.setSuggestedPrompts": MethodSpec(misc.assistant_set_prompts, BOT),
    "chat.postMessage": MethodSpec(chat.post_message, BOT),
    "chat.update": MethodSpec(chat.update, BOT),
    "chat.delete": MethodSpec(chat.delete, BOT),
    "chat.postEphemeral": MethodSpec(chat.post_ephemeral, BOT),
    "chat.getPermalink": MethodSpec(chat.get_permalink, BOT),
    "chat.startStream": MethodSpec(streams.start_stream, BOT),
    "chat.appendStream": MethodSpec(streams.append_stream, BOT),
    "chat.stopStream": MethodSpec(streams.stop_stream, BOT),
    "conversations.replies": MethodSpec(conversations.replies, BOT),
    "conversations.history": MethodSpec(conversations.history, BOT),
    "conversations.info": MethodSpec(conversations.info, BOT),
    "conversations.open": MethodSpec(conversations.open_conversation, BOT),
    "views.publish": MethodSpec(views.publish, BOT),
}
