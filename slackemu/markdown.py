"""Standard Markdown (markdown_text, markdown blocks, streams) as safe HTML, by markdown-it-py.

CommonMark plus tables and strikethrough, with raw HTML off (`html=False`: a `<script>` in the
text is shown, escaped, never run) and links limited to http(s) and mailto. Slack's own
`<@U…>` / `<#C…>` / `<!here>` / `<url|label>` entities are parsed by an inline rule and drawn
by the caller's `entity` function; `:emoji:` codes and bare URLs are handled in text runs.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from markupsafe import escape

from slackemu.richtext import ENTITY_RE

SAFE_URL_RE = re.compile(r"^(https?://|mailto:)", re.IGNORECASE)
BARE_URL = re.compile(r"(?<![\w/\"'=])(https?://[^\s<>()\"']+[^\s<>()\"'.,;:!?])")
EMOJI_CODE = re.compile(r"(?<![\w:]):([a-z0-9_+\-]+):(?![\w:])")

Entity = Callable[[str], str]  # the body of <…> -> HTML
Emoji = Callable[[str], str]  # an emoji name -> a glyph (or the escaped :name:)


def link_html(url: str, label_html: str) -> str:
    """An anchor that opens in a new tab, or just the label when the URL is not safe."""
    if not SAFE_URL_RE.match(url):
        return label_html
    return f'<a href="{escape(url)}" target="_blank" rel="noopener noreferrer">{label_html}</a>'


def render(text: str, *, entity: Entity, emoji: Emoji) -> str:
    """The HTML of `text` (block-level tags without the newlines between them)."""
    out = _MD.render(text, {"entity": entity, "emoji": emoji})
    return out.replace(">\n", ">").rstrip("\n")  # markup only: content is escaped


# --- Slack entities: an inline rule ahead of CommonMark's autolinks --------------------------
def _slack_entity(state: StateInline, silent: bool) -> bool:
    if state.src[state.pos] != "<":
        return False
    match = ENTITY_RE.match(state.src, state.pos)
    if not match:
        return False
    if not silent:
        token = state.push("slack_entity", "", 0)
        token.content = html.unescape(match.group(1))
    state.pos = match.end()
    return True


# --- renderer rules ----------------------------------------------------------------------------
Rule = Callable[[Any, Sequence[Token], int, Any, Any], str]  # (renderer, tokens, idx, ...)


def _text(_self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    pieces = []
    for i, part in enumerate(BARE_URL.split(tokens[idx].content)):
        if i % 2:
            pieces.append(link_html(part, str(escape(part))))
        else:
            pieces.append(EMOJI_CODE.sub(lambda m: env["emoji"](m.group(1)), str(escape(part))))
    return "".join(pieces)


def _entity(_self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return str(env["entity"](tokens[idx].content))


def _code_block(_self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return f"<pre><code>{escape(tokens[idx].content.strip(chr(10)))}</code></pre>\n"


def _code_inline(_self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return f"<code>{escape(tokens[idx].content)}</code>"


def _heading_open(_self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return '<div class="md-h">'


def _heading_close(_self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return "</div>\n"


def _ordered_list_open(_self: Any, tokens: Sequence[Token], idx: int, opts: Any, env: Any) -> str:
    start = tokens[idx].attrGet("start") or 1
    return f'<ol start="{int(start)}">\n'


def _link_open(_self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    # validateLink already refused every scheme but http(s) and mailto.
    href = str(tokens[idx].attrGet("href") or "")
    return f'<a href="{escape(href)}" target="_blank" rel="noopener noreferrer">'


def _tag(name: str) -> Rule:
    return lambda _self, tokens, idx, options, env: (
        f"<{'/' if tokens[idx].nesting < 0 else ''}{name}>"
    )


def _image(_self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    alt = "".join(child.content for child in tokens[idx].children or [])
    return f'<span class="img-alt">🖼 {escape(alt)}</span>'


def _build() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "breaks": True, "xhtmlOut": False})
    md.enable(["table", "strikethrough"])
    md.validateLink = lambda url: bool(SAFE_URL_RE.match(url))  # type: ignore[method-assign]
    md.inline.ruler.before("autolink", "slack_entity", _slack_entity)
    rules: dict[str, Rule] = {
        "text": _text,
        "slack_entity": _entity,
        "code_block": _code_block,
        "fence": _code_block,
        "code_inline": _code_inline,
        "heading_open": _heading_open,
        "heading_close": _heading_close,
        "ordered_list_open": _ordered_list_open,
        "link_open": _link_open,
        "s_open": _tag("del"),
        "s_close": _tag("del"),
        "image": _image,
    }
    for name, rule in rules.items():
        md.add_render_rule(name, rule)
    return md


_MD = _build()
