"""HTTP delivery to the app's request URL, signed as Slack signs: `v0=` HMAC-SHA256 of
`v0:{timestamp}:{body}`, with Slack's User-Agent, the retry headers, and a 3-second timeout
measured on the emulator's clock. One attempt per call; retries are the dispatcher's job.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from dataclasses import dataclass, field

import aiohttp

from slackemu.clock import Clock, race_clock

logger = logging.getLogger(__name__)

USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"
MAX_REAL_WAIT_S = 30.0  # a safety net for fake clocks nobody advances


@dataclass
class HttpResult:
    status: int | None
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    failure: str | None = None  # http_timeout | http_error | connection_failed

    @property
    def no_retry(self) -> bool:
        return self.headers.get("x-slack-no-retry", "") == "1"


def sign(signing_secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


class HttpDelivery:
    def __init__(self, signing_secret: str, clock: Clock, timeout_s: float = 3.0) -> None:
        self.signing_secret = signing_secret
        self.clock = clock
        self.timeout_s = timeout_s
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def post(
        self, url: str, body: bytes, content_type: str, extra_headers: dict[str, str] | None = None
    ) -> HttpResult:
        # NOTE: the signature timestamp is wall-clock time, because the receiver checks it
        # against its own wall clock (a fake clock moved by minutes would fail verification).
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": content_type,
            "User-Agent": USER_AGENT,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": sign(self.signing_secret, timestamp, body),
            **(extra_headers or {}),
        }
        finished, result = await race_clock(
            self._post(url, body, headers), self.clock, self.timeout_s
        )
        if finished and result is not None:
            return result
        return HttpResult(None, failure="http_timeout")

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> HttpResult:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            async with self._session.post(
                url,
                data=body,
                headers=headers,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=MAX_REAL_WAIT_S),
            ) as response:
                text = await response.text()
                lowered = {k.lower(): v for k, v in response.headers.items()}
                failure = None if 200 <= response.status < 300 else "http_error"
                return HttpResult(response.status, text, lowered, failure)
        except TimeoutError:
            return HttpResult(None, failure="http_timeout")
        except (aiohttp.ClientError, OSError) as err:
            logger.info("delivery to %s failed: %s", url, err)
            return HttpResult(None, failure="connection_failed")
