"""Model Markdown made safe for Slack, and long text cut into message-sized parts.

`MarkdownSanitizer` neutralises broadcasts and pings the model writes (`<!channel>`, `<@U…>`)
and escapes Slack's control characters outside code, keeping bold, lists, links and code
intact. It works on a stream: its output only grows, so it can feed a native stream.
"""

from __future__ import annotations

import re

ZWSP = "\u200b"  # breaks Slack's mention parsing without changing what the reader sees
BROADCASTS = ("channel", "here", "everyone")
MAX_ANGLE_TOKEN = 300  # a `<…>` longer than this is not a Slack token
MAX_PART_CHARS = 3_900  # one Slack message: text fallback ≤ 4,000, markdown ≤ 12,000
URL_RE = re.compile(r"^(https?://|mailto:)[^\s|]+$", re.IGNORECASE)
FENCE_LINE_RE = re.compile(r"^ {0,3}(`{3,})(.*)$")


class MarkdownSanitizer:
    """feed(delta) -> safe text that is now settled; finish() -> the rest.

    `feed(a) + feed(b) + finish()` equals `sanitize(a + b)` however the text is split, so the
    output can be appended to a Slack stream as it is produced.
    """

    def __init__(self) -> None:
        self._pending = ""
        self._fence_ticks = 0  # inside a ``` block: its backtick count
        self._inline_ticks = 0  # inside a `code` span: its backtick count
        self._blank_line = True  # only whitespace since the last newline

    def feed(self, text: str) -> str:
        self._pending += text
        return self._drain(final=False)

    def finish(self) -> str:
        return self._drain(final=True)

    def _drain(self, *, final: bool) -> str:
        s, out, i = self._pending, [], 0
        while i < len(s):
            taken = self._take(s, i, final)
            if taken is None:  # needs more input to decide
                break
            text, i = taken
            out.append(text)
        self._pending = s[i:]
        return "".join(out)

    def _take(self, s: str, i: int, final: bool) -> tuple[str, int] | None:
        """The output for the token at s[i] and where the next token starts."""
        c = s[i]
        in_code = bool(self._fence_ticks or self._inline_ticks)
        if c == "`":
            j = i
            while j < len(s) and s[j] == "`":
                j += 1
            if j == len(s) and not final:
                return None
            self._backticks(j - i)
            self._blank_line = False
            return s[i:j], j
        if c == "\n":
            self._blank_line = True
            self._inline_ticks = 0  # an unclosed `span` ends with its line
            return c, i + 1
        if c == "@":
            word = _word_after(s, i + 1)
            if i + 1 + len(word) == len(s) and len(word) < 9 and not final:
                return None
            self._blank_line = False
            return ("@" + ZWSP if word.lower() in BROADCASTS else "@"), i + 1
        if c == "<":
            return self._angle(s, i, final, in_code)
        self._blank_line = self._blank_line and c in " \t"
        if c == "&" and not in_code:
            return "&amp;", i + 1
        return c, i + 1

    def _backticks(self, count: int) -> None:
        if self._fence_ticks:
            if self._blank_line and count >= self._fence_ticks:
                self._fence_ticks = 0
        elif self._inline_ticks:
            if count == self._inline_ticks:
                self._inline_ticks = 0
        elif self._blank_line and count >= 3:
            self._fence_ticks = count
        else:
            self._inline_ticks = count

    def _angle(self, s: str, i: int, final: bool, in_code: bool) -> tuple[str, int] | None:
        self._blank_line = False
        if in_code:
            if i + 1 == len(s) and not final:
                return None
            nxt = s[i + 1] if i + 1 < len(s) else ""
            return ("<" + ZWSP if nxt in "!@#" and nxt else "<"), i + 1
        if i + 1 == len(s) and not final:
            return None
        if i + 1 == len(s) or not (s[i + 1] in "!@#" or s[i + 1].isalpha()):
            return "&lt;", i + 1  # `a < b`: not a Slack token
        end = _angle_end(s, i)
        if end is None:
            if not final and len(s) - i < MAX_ANGLE_TOKEN and "\n" not in s[i:]:
                return None
            return "&lt;", i + 1
        return _neutral_token(s[i + 1 : end]), end + 1


def sanitize(text: str) -> str:
    """The whole text at once (see MarkdownSanitizer)."""
    sanitizer = MarkdownSanitizer()
    return sanitizer.feed(text) + sanitizer.finish()


def _word_after(s: str, start: int) -> str:
    end = start
    while end < len(s) and s[end].isalpha():
        end += 1
    return s[start:end]


def _angle_end(s: str, i: int) -> int | None:
    """Index of the `>` closing a Slack-style token at s[i] == '<', if one closes in time."""
    for j in range(i + 1, min(len(s), i + MAX_ANGLE_TOKEN)):
        if s[j] == ">":
            return j
        if s[j] in "<\n":
            return None
    return None


def _neutral_token(body: str) -> str:
    """A `<…>` token as harmless Markdown: mentions become plain text, links Markdown links."""
    target, _, label = body.partition("|")
    if target.startswith("!"):
        name = target[1:].split("^")[0]
        if name == "date" and label:
            return _plain(label)
        return "@" + ZWSP + _plain(label.lstrip("@") or name)
    if target.startswith("@"):
        return "@" + ZWSP + _plain(label or target[1:])
    if target.startswith("#"):
        return "#" + _plain(label or target[1:])
    if URL_RE.match(target):
        return f"[{_plain(label)}]({target})" if label else target
    return "&lt;" + _plain(body) + "&gt;"


def _plain(text: str) -> str:
    """Label text inside a token: escaped, and every `@` broken so it cannot ping."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return escaped.replace("@", "@" + ZWSP)


# --- cutting long text into messages -------------------------------------------------------
def open_fence(text: str) -> str | None:
    """The info string of a ``` block left open at the end of `text` ('' when it has none);
    None when no block is open."""
    info: str | None = None
    ticks = 0
    for line in text.split("\n"):
        match = FENCE_LINE_RE.match(line)
        if not match:
            continue
        if info is None:
            info, ticks = match.group(2).strip(), len(match.group(1))
        elif len(match.group(1)) >= ticks and not match.group(2).strip():
            info, ticks = None, 0
    return info


def choose_cut(text: str, limit: int, floor: int = 0) -> int:
    """Where to end a message of `text` no longer than `limit`, at or after `floor`: after a
    blank line, else a line end, else a space, else exactly at the limit."""
    if len(text) <= limit:
        return len(text)
    floor = min(max(floor, 1), limit)
    window = text[:limit]
    for separator in ("\n\n", "\n", " "):
        at = window.rfind(separator)
        if at + len(separator) > floor and at > limit // 3:
            return at + len(separator)
    return limit


def close_fence(part: str, info: str | None) -> str:
    """What to append to a message cut inside a code block so that the block ends there."""
    if info is None:
        return ""
    return ("" if part.endswith("\n") else "\n") + "```"


def reopen_fence(info: str | None) -> str:
    """What the next message starts with when the cut fell inside a code block."""
    return "" if info is None else f"```{info}\n"


def plain_preview(markdown: str, limit: int = 3_000) -> str:
    """A notification-friendly `text` fallback for a message whose blocks carry the Markdown."""
    text = markdown.strip() or "…"
    return text if len(text) <= limit else text[: limit - 1] + "…"
