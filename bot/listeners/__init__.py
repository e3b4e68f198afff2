"""Wiring: which Bolt listener handles which event, command and action.

`SUBSCRIBED_EVENTS` is the list the app manifest must declare (a test checks it); every
event that arrives is acknowledged, handled or not, so Slack never retries it.
"""

from __future__ import annotations

import re
from functools import partial

from slack_bolt import App

from bot.listeners.actions import handle_feedback, handle_handoff, handle_share, handle_stop
from bot.listeners.commands import handle_ask_command
from bot.listeners.events import ack_other_event, handle_message_event
from bot.listeners.home import handle_app_home_opened, handle_mode_choice
from bot.services import BotServices
from bot.slack.blocks import FEEDBACK_ACTION, HANDOFF_ACTION, SHARE_ACTION, STOP_ACTION
from bot.slack.modes_view import MODE_ACTION

# Manifest `bot_events`: mentions, thread follow-ups in public and private channels, DMs,
# and App Home (the usage view).
SUBSCRIBED_EVENTS = (
    "app_home_opened",
    "app_mention",
    "message.channels",
    "message.groups",
    "message.im",
)
ACTIONS = (STOP_ACTION, FEEDBACK_ACTION, HANDOFF_ACTION, SHARE_ACTION, MODE_ACTION)


def register_listeners(app: App, bot: BotServices) -> None:
    app.event("app_mention")(partial(handle_message_event, bot=bot))
    app.event("message")(partial(handle_message_event, bot=bot))  # every subtype, so all ack
    app.event("app_home_opened")(partial(handle_app_home_opened, bot=bot))
    app.event(re.compile(".*"))(ack_other_event)
    app.command(bot.settings.slash_command)(partial(handle_ask_command, bot=bot))
    app.action(STOP_ACTION)(partial(handle_stop, bot=bot))
    app.action(FEEDBACK_ACTION)(partial(handle_feedback, bot=bot))
    app.action(HANDOFF_ACTION)(partial(handle_handoff, bot=bot))
    app.action(SHARE_ACTION)(partial(handle_share, bot=bot))
    app.action(MODE_ACTION)(partial(handle_mode_choice, bot=bot))  # App Home, admins only
