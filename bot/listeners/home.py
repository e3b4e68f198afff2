"""The App Home tab: when a person opens it (`app_home_opened`, tab `home`), publish the usage
view for them with `views.publish`; ADMIN_USERS also get the "Answer modes" section, and a
choice in its selects (block_actions) stores the channel's mode and re-publishes Home.
Opening the Messages tab changes nothing; a mode choice from anyone else is refused."""

from __future__ import annotations

import logging
import time
from typing import Any

from slack_bolt import Ack
from slack_sdk.errors import SlackApiError

from bot.services import BotServices, channel_modes_of
from bot.slack.modes_view import MAX_CHANNEL_ROWS, ModeRow, block_key, modes_blocks, origin_of
from bot.usage.report import home_view_for
from kb.route import MODES, ChannelModes, ChannelModesError

logger = logging.getLogger(__name__)

RECENT_S = 30 * 24 * 3600  # channels the bot answered in lately are listed
SPECIAL = {"dm": "Direct messages", "default": "Other channels"}


def handle_app_home_opened(event: dict[str, Any], *, bot: BotServices) -> None:
    if event.get("tab") != "home" or not event.get("user"):
        return
    publish_home(bot, str(event["user"]))


def handle_mode_choice(ack: Ack, body: dict[str, Any], *, bot: BotServices) -> None:
    """An admin picked a mode in Home: store it, re-publish Home with a confirmation. Anyone
    else's choice (a forged request: they never see the selects) is refused before the ack."""
    user_id = str((body.get("user") or {}).get("id") or "")
    if user_id not in bot.settings.admin_users:
        logger.warning("refused a mode change from %s (not in ADMIN_USERS)", user_id)
        ack()
        return
    ack()
    action = (body.get("actions") or [{}])[0]
    key = block_key(str(action.get("block_id") or ""))
    mode = str((action.get("selected_option") or {}).get("value") or "")
    modes = channel_modes_of(bot.answerer)
    if modes is None or key is None or mode not in MODES:
        publish_home(bot, user_id, notice=":warning: That choice could not be read; try again.")
        return
    try:
        modes.set(key, mode, set_by=user_id)
    except ChannelModesError as err:
        publish_home(bot, user_id, notice=f":warning: {err}")
        return
    except Exception:
        logger.exception("could not store the mode of %s", key)
        publish_home(bot, user_id, notice=":warning: Could not save that mode; try again.")
        return
    logger.info("mode of %s set to %s by %s", key, mode, user_id)
    label = SPECIAL.get(key) or f"<#{key}>"
    publish_home(bot, user_id, notice=f":white_check_mark: {label} now answers in *{mode}* mode.")


def publish_home(bot: BotServices, user_id: str, *, notice: str = "") -> None:
    try:
        view = home_view_for(bot.meter.log, bot.settings, model=bot.meter.model, user_id=user_id)
        modes = channel_modes_of(bot.answerer)
        if modes is not None and user_id in bot.settings.admin_users:
            view["blocks"] += modes_blocks(mode_rows(bot, modes), notice=notice)
        bot.client.views_publish(user_id=user_id, view=view)
    except SlackApiError as err:
        logger.warning("could not publish App Home for %s: %s", user_id, err.response.get("error"))
    except Exception:
        logger.exception("could not build App Home for %s", user_id)


def mode_rows(bot: BotServices, modes: ChannelModes) -> list[ModeRow]:
    """DMs, other channels, then every channel named in CHANNEL_MODES or ALLOWED_CHANNELS, set
    from Home, or answered in lately (the emulator and Slack both lack a cheap 'channels I am
    in' for a bot without channels:read, so these are the ones the bot knows)."""
    configured = modes.configured()
    choices = modes.choices()
    effective = modes.as_dict()
    recent = bot.meter.log.channels_since(time.time() - RECENT_S)
    channels = [
        c
        for c in dict.fromkeys([*configured, *bot.settings.allowed_channels, *choices, *recent])
        if c not in SPECIAL and c and not c.startswith("D")
    ][:MAX_CHANNEL_ROWS]
    explicit = _explicit(bot)
    rows = []
    for key in [*SPECIAL, *channels]:
        choice = choices.get(key)
        if choice is not None:
            origin = origin_of(choice.set_by, choice.set_at)
        elif key in explicit:
            origin = "from CHANNEL_MODES"
        else:
            origin = "default" if key in SPECIAL else "as other channels"
        mode = effective.get(key) or modes.get(key)
        # `<#C123>` is shown as the channel's name by Slack: no channels:read scope needed.
        rows.append(ModeRow(key, SPECIAL.get(key) or f"<#{key}>", mode, origin))
    return rows


def _explicit(bot: BotServices) -> set[str]:
    """The keys CHANNEL_MODES names itself (dm/default are otherwise filled in as auto)."""
    keys = {e.partition("=")[0].strip() for e in bot.settings.channel_modes.split(",")}
    return {k.lower() if k.lower() in SPECIAL else k for k in keys if k}
