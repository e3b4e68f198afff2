"""Where a question goes: the knowledge base, the general assistant, or a friendly reply.

Owns the channel modes (`CHANNEL_MODES`: `kb` answers from the documents or hands off,
`assistant` is a plain LLM assistant, `auto` picks per question), small-talk detection with
its fixed replies, and the on-topic test `auto` uses: the question names something the
knowledge base's titles and headings are about and is near a passage, or is very near one.
The routing is pure: the desk passes in what it measured (SupportDesk.route puts it
together); only the modes read the store, when one is attached.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from typing import Literal

from cachetools import TTLCache

from kb.text import cjk_ratio, normalize
from store.channel_modes import ChannelModeBook, ModeChoice

Mode = Literal["kb", "assistant", "auto"]
RouteName = Literal["kb", "assistant", "smalltalk"]
MODES: tuple[Mode, ...] = ("kb", "assistant", "auto")

# Cosine (question, best passage) above which a question is on-topic on its own, and the
# floor under which a shared title/heading word does not make it so. MiniLM is English-only,
# so a mostly-CJK question needs a higher score to count as near.
NEAR_ALONE = 0.45
NEAR_ALONE_CJK = 0.50
NEAR_WITH_TOPIC_WORD = 0.28
# Two or more title/heading words (e.g. a product's name, "Cragfell GX") put a question on
# the knowledge base's ground from a lower cosine: it then quotes, or abstains and offers a
# human, instead of the assistant inventing facts about our products.
NEAR_WITH_TOPIC_WORDS = 0.15
MODES_CACHE_S = 5.0  # how stale another replica's view of an admin's change may be

logger = logging.getLogger(__name__)


class ChannelModesError(ValueError):
    """CHANNEL_MODES could not be read; the message says which entry and why."""


class ChannelModes:
    """The mode of each channel: `C123=kb,C456=assistant,dm=auto,default=kb`.

    `dm` covers every direct message, `default` every other channel; without them both are
    `auto`. With a durable book attached (`attach`), the modes admins chose in Slack lie on
    top of CHANNEL_MODES: read through a short TTL cache (so replicas converge within
    MODES_CACHE_S) and written through by set()."""

    def __init__(self, modes: dict[str, Mode] | None = None, default: Mode = "auto") -> None:
        self._modes: dict[str, Mode] = dict(modes or {})
        self._modes.setdefault("default", default)
        self._modes.setdefault("dm", self._modes["default"])
        self._book: ChannelModeBook | None = None
        self._cache: TTLCache[str, dict[str, ModeChoice]] = TTLCache(1, MODES_CACHE_S)
        self._last: dict[str, ModeChoice] = {}  # what the store said last (used if it fails)
        self._lock = threading.Lock()

    @classmethod
    def parse(cls, spec: str) -> ChannelModes:
        modes: dict[str, Mode] = {}
        for entry in (e.strip() for e in spec.split(",")):
            if not entry:
                continue
            key, sep, value = (part.strip() for part in entry.partition("="))
            if not sep or not key:
                raise ChannelModesError(f"CHANNEL_MODES: expected channel=mode, got {entry!r}")
            mode = value.lower()
            if mode not in MODES:
                raise ChannelModesError(
                    f"CHANNEL_MODES: {key}={value!r}: the mode must be kb, assistant or auto"
                )
            modes[key.lower() if key.lower() in ("dm", "default") else key] = mode  # type: ignore[assignment]
        return cls(modes)

    def attach(self, book: ChannelModeBook) -> None:
        """Keep admins' choices in this durable book from now on."""
        with self._lock:
            self._book = book
            self._cache.clear()

    def get(self, channel_id: str | None, *, is_dm: bool = False) -> Mode:
        modes = self.as_dict()
        if channel_id and channel_id in modes:
            return modes[channel_id]
        return modes["dm" if is_dm or (channel_id or "").startswith("D") else "default"]

    def set(self, channel_id: str, mode: str, *, set_by: str = "") -> None:
        """Change a channel's mode ("dm" / "default" for those); durable when a book is
        attached. Raises ChannelModesError for an unknown mode, StoreError if it can't write."""
        if mode not in MODES:
            raise ChannelModesError(f"unknown mode {mode!r}: kb, assistant or auto")
        with self._lock:
            if self._book is None:
                self._modes[channel_id] = mode  # type: ignore[assignment]
                return
            self._book.put(channel_id, mode, set_by)
            self._cache.clear()

    def choices(self) -> dict[str, ModeChoice]:
        """The modes admins chose (who and when), newest read at most MODES_CACHE_S ago."""
        with self._lock:
            if self._book is None:
                return {}
            cached = self._cache.get("choices")
            if cached is not None:
                return cached
            try:
                self._last = self._book.all()
            except Exception:  # a store fault must not stop answers: keep the last known
                logger.warning("channel modes: cannot read the store; using the last known")
            self._cache["choices"] = self._last
            return self._last

    def configured(self) -> dict[str, Mode]:
        """CHANNEL_MODES as given (with `dm` and `default` filled in), without the store."""
        return dict(self._modes)

    def as_dict(self) -> dict[str, Mode]:
        merged = dict(self._modes)
        for channel, choice in self.choices().items():
            if choice.mode in MODES:
                merged[channel] = choice.mode  # type: ignore[assignment]
        return merged


# --- small talk ----------------------------------------------------------------------------

_GREETING = (
    r"hi|hello|hey|hiya|howdy|yo|good (?:morning|afternoon|evening)|morning|你好|您好|嗨|早上好"
)
_THANKS = (
    r"thanks?(?: you)?(?: (?:so|very) much)?|thx|ty|cheers|much appreciated|thanks a lot"
    r"|that (?:helped|helps|worked)|much appreciated|谢谢|多谢|感谢"
)
_ACK = r"ok(?:ay)?|great|perfect|awesome|cool|nice|got it|understood|sounds good|好的|明白了"
_BYE = r"bye|goodbye|see you|see ya|later|have a (?:nice|good) (?:day|one)|再见|拜拜"
_HOW_ARE_YOU = r"how are you(?: doing)?(?: today)?|how's it going|what's up|你好吗"
_WHO_ARE_YOU = r"who are you|what are you|what can you do|what do you do|你是谁|你能做什么"
_ADDRESS = r"(?:deskhand|bot|there|all|everyone|team|folks|mate)"
_KINDS = {
    "greeting": _GREETING,
    "thanks": _THANKS,
    "ack": _ACK,
    "bye": _BYE,
    "how_are_you": _HOW_ARE_YOU,
    "who_are_you": _WHO_ARE_YOU,
}
_PART = re.compile(
    r"\s*(?:(?P<greeting>{greeting})|(?P<thanks>{thanks})|(?P<ack>{ack})|(?P<bye>{bye})"
    r"|(?P<how_are_you>{how_are_you})|(?P<who_are_you>{who_are_you}))"
    r"(?:\s+{address})?[\s!.?,~:)(;。！？，]*".format(address=_ADDRESS, **_KINDS)
)

SMALLTALK_REPLIES: dict[str, dict[str, str]] = {
    "en": {
        "greeting": "Hi! How can I help?",
        "thanks": "You're welcome! Anything else I can help with?",
        "ack": "Great! Ask me anything else whenever you like.",
        "bye": "Bye for now!",
        "how_are_you": "I'm doing well, thanks for asking! How can I help?",
        "who_are_you": "I'm Deskhand: ask me about our products and policies (I answer from "
        "our help articles) or anything else.",
    },
    "zh": {
        "greeting": "你好！有什么可以帮您？",
        "thanks": "不客气！还有什么可以帮您的吗？",
        "ack": "好的！还有问题随时问我。",
        "bye": "再见！",
        "how_are_you": "我很好，谢谢！有什么可以帮您？",
        "who_are_you": "我是 Deskhand：可以问我产品和政策（我根据帮助文档回答），"
        "也可以问其他问题。",
    },
}


def smalltalk_kind(text: str) -> str | None:
    """'greeting', 'thanks', 'ack', 'bye', 'how_are_you' or 'who_are_you' when the whole message is
    small talk (one or more such phrases and nothing else), else None."""
    rest = re.sub(r"<[@#!][^>]*>", " ", normalize(text)).replace("’", "'")
    rest = re.sub(r":[a-z0-9_+-]+:", " ", rest).strip()  # Slack emoji codes
    kinds: list[str] = []
    while rest:
        m = _PART.match(rest)
        if not m or not m.group(0).strip():
            return None
        kinds.append(next(k for k in _KINDS if m.group(k)))
        rest = rest[m.end() :]
    if not kinds:
        return None
    # "hi, thanks!" is thanks; "hello, how are you?" is how_are_you: the last phrase wins,
    # except that a trailing greeting never outranks what came before.
    meaningful = [k for k in kinds if k not in ("greeting", "ack")]
    if not meaningful and "ack" in kinds:
        return "ack"
    return meaningful[-1] if meaningful else "greeting"


def smalltalk_reply(kind: str, lang: str) -> str:
    return SMALLTALK_REPLIES.get(lang, SMALLTALK_REPLIES["en"])[kind]


# --- on-topic ------------------------------------------------------------------------------


def on_topic(question: str, nearest: float, topic_words: list[str]) -> bool:
    """Whether `auto` should answer from the knowledge base.

    `nearest` is the best cosine between the standalone question and a passage (in its
    context); `topic_words` are the question's words found in the knowledge base's titles
    and section headings (what its articles are about)."""
    alone = NEAR_ALONE_CJK if cjk_ratio(question) > 0.3 else NEAR_ALONE
    if len(set(topic_words)) >= 2 and nearest >= NEAR_WITH_TOPIC_WORDS:
        return True
    return nearest >= alone or (bool(topic_words) and nearest >= NEAR_WITH_TOPIC_WORD)


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """Where one question goes, and why (the reason is for logs and `deskhand ask`)."""

    route: RouteName
    mode: Mode
    reason: str
    smalltalk: str | None = None  # the small-talk kind, when route == "smalltalk"
