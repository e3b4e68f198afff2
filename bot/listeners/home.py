"""The App Home tab: when a person opens it (`app_home_opened`, tab `home`), publish the usage
view for them with `views.publish`. Opening the Messages tab changes nothing."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.services import BotServices
from bot.usage_report import home_view_for

logger = logging.getLogger(__name__)


def handle_app_home_opened(event: dict[str, Any], *, bot: BotServices) -> None:
    if event.get("tab") != "home" or not event.get("user"):
        return
    user_id = str(event["user"])
    try:
        view = home_view_for(bot.meter.log, bot.settings, model=bot.meter.model, user_id=user_id)
        bot.client.views_publish(user_id=user_id, view=view)
    except SlackApiError as err:
        logger.warning("could not publish App Home for %s: %s", user_id, err.response.get("error"))
    except Exception:
        logger.exception("could not build App Home for %s", user_id)
