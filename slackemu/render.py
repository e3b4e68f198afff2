"""Message content as safe HTML for the browser UI: Slack mrkdwn, standard Markdown (from
markdown_text and streams, by markdown-it-py: see slackemu.markdown) and Block Kit blocks.
Everything user- or bot-supplied is escaped; only the tags built here reach the page, and
links are limited to http(s) and mailto.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

from markupsafe import Markup, escape

from slackemu import markdown
from slackemu.richtext import ENTITY_RE
from slackemu.state import Workspace

SAFE_URL_RE = re.compile(r"^(https?://|mailto:)", re.IGNORECASE)
FENCE_RE = re.compile(r"```")
ICON_GLYPHS = {"trash": "🗑", "stop": "■", "copy": "⧉", "share": "↗", "refresh": "↻"}


class Stash:
    """Placeholders for finished HTML fragments, so later regexes cannot touch them."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def put(self, fragment: str) -> str:
        self.items.append(fragment)
        return f"\x00{len(self.items) - 1}\x00"

    def restore(self, text: str) -> str:
        while "\x00" in text:
            text = re.sub(r"\x00(\d+)\x00", lambda m: self.items[int(m.group(1))], text)
        return text


def _link(url: str, label: str) -> str:
    if not SAFE_URL_RE.match(url):
        return str(escape(label or url))
    return (
        f'<a href="{escape(url)}" target="_blank" rel="noopener noreferrer">'
        f"{escape(label or url)}</a>"
    )


def _entity(body: str, ws: Workspace) -> str:
    """<@U…>, <#C…|name>, <!here>, <url|label> as HTML."""
    target, _, label = body.partition("|")
    if target.startswith("@"):
        user = ws.users.get(target[1:])
        name = user.label if user else (label or target[1:])
        return f'<span class="mention">@{escape(name)}</span>'
    if target.startswith("#"):
        conv = ws.conversations.get(target[1:])
        name = conv.name if conv and conv.kind != "im" else (label or target[1:])
        return f'<span class="mention">#{escape(name)}</span>'
    if target.startswith("!"):
        word = label or target[1:].split("^")[0]
        return f'<span class="mention broadcast">@{escape(word)}</span>'
    return _link(target, label)


# --- inline formatting (Slack mrkdwn) ---------------------------------------------------------
def _inline(text: str, ws: Workspace) -> str:
    """One line of mrkdwn wire text to HTML."""
    stash = Stash()
    text = text.replace("\x00", "")
    text = re.sub(
        r"`([^`\n]+)`",
        lambda m: stash.put(f"<code>{escape(html.unescape(m.group(1)))}</code>"),
        text,
    )
    text = ENTITY_RE.sub(lambda m: stash.put(_entity(m.group(1), ws)), text)
    text = re.sub(
        r"(?<![\w/\"'=])(https?://[^\s<>()\"']+[^\s<>()\"'.,;:!?])",
        lambda m: stash.put(_link(html.unescape(m.group(1)), "")),
        text,
    )
    text = str(escape(html.unescape(text)))
    text = re.sub(
        r"(?<![\w:]):([a-z0-9_+\-]+):(?![\w:])", lambda m: EMOJI.get(m.group(1), m.group(0)), text
    )
    text = re.sub(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])", r"<strong>\1</strong>", text)
    text = re.sub(r"(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])", r"<em>\1</em>", text)
    text = re.sub(r"(?<![\w~])~(?=\S)(.+?)(?<=\S)~(?![\w~])", r"<del>\1</del>", text)
    return stash.restore(text)


# --- block structure ---------------------------------------------------------------------------
def _split_fences(text: str) -> list[tuple[bool, str]]:
    """[(is_code, chunk)]; an unclosed fence (a stream mid-way) runs to the end."""
    parts = FENCE_RE.split(text)
    return [(i % 2 == 1, part) for i, part in enumerate(parts)]


def _code_block(code: str) -> str:
    code = code.strip("\n")
    return f"<pre><code>{escape(html.unescape(code))}</code></pre>"


def render_mrkdwn(text: str, ws: Workspace) -> Markup:
    """Slack mrkdwn (message `text`, mrkdwn text objects) as HTML."""
    out: list[str] = []
    for is_code, chunk in _split_fences(text):
        if is_code:
            out.append(_code_block(chunk))
            continue
        lines = chunk.split("\n")
        quote: list[str] = []
        rendered: list[str] = []
        for line in lines:
            if line.startswith(("&gt;", ">")):
                quote.append(_inline(re.sub(r"^(&gt;|>)\s?", "", line), ws))
                continue
            if quote:
                rendered.append(f"<blockquote>{'<br>'.join(quote)}</blockquote>")
                quote = []
            rendered.append(_inline(line, ws) + "<br>")
        if quote:
            rendered.append(f"<blockquote>{'<br>'.join(quote)}</blockquote>")
        html_chunk = "".join(rendered)
        out.append(html_chunk[:-4] if html_chunk.endswith("<br>") else html_chunk)
    return Markup(f'<div class="mrkdwn">{"".join(out)}</div>')


def render_markdown(text: str, ws: Workspace) -> Markup:
    """Standard Markdown (markdown_text, markdown blocks, streams) as HTML (markdown-it-py)."""
    body = markdown.render(text, entity=lambda body: _entity(body, ws), emoji=emoji_glyph)
    return Markup(f'<div class="markdown">{body}</div>')


# --- Block Kit -------------------------------------------------------------------------------
def render_text_object(obj: Any, ws: Workspace) -> Markup:
    if not isinstance(obj, dict):
        return Markup(escape(str(obj or "")))
    text = str(obj.get("text", ""))
    if obj.get("type") == "mrkdwn":
        return render_mrkdwn(text, ws)
    return Markup(escape(text))


def _button(element: dict[str, Any], block_id: str) -> str:
    kind = element.get("type")
    action_id = escape(element.get("action_id", ""))
    if kind == "feedback_buttons":
        buttons = []
        for key, glyph in (("positive_button", "👍"), ("negative_button", "👎")):
            btn = element.get(key) or {}
            label = (btn.get("text") or {}).get("text", "")
            buttons.append(
                f'<button class="btn feedback" data-action-id="{action_id}" '
                f'data-block-id="{escape(block_id)}" data-value="{escape(btn.get("value", ""))}"'
                f' title="{escape(label)}">{glyph}</button>'
            )
        return "".join(buttons)
    label = (
        (element.get("text") or {}).get("text", "")
        if isinstance(element.get("text"), dict)
        else str(element.get("text", ""))
    )
    style = element.get("style", "")
    style_class = f" {style}" if style in ("primary", "danger") else ""
    if kind == "icon_button":
        glyph = ICON_GLYPHS.get(element.get("icon", ""), "•")
        label = f"{glyph} {label}"
        style_class += " icon"
    if element.get("url") and SAFE_URL_RE.match(str(element["url"])):
        return (
            f'<a class="btn{style_class}" href="{escape(element["url"])}" target="_blank" '
            f'rel="noopener noreferrer">{escape(label)}</a>'
        )
    return (
        f'<button class="btn{style_class}" data-action-id="{action_id}" '
        f'data-block-id="{escape(block_id)}" data-value="{escape(element.get("value", ""))}">'
        f"{escape(label)}</button>"
    )


def _static_select(element: dict[str, Any], block_id: str) -> str:
    """A <select>; choosing an option sends block_actions (app.js, control API select_home)."""
    initial = (element.get("initial_option") or {}).get("value")
    placeholder = (element.get("placeholder") or {}).get("text", "")
    options = (
        [] if initial else [f'<option value="" disabled selected>{escape(placeholder)}</option>']
    )
    for option in element.get("options") or []:
        value = str(option.get("value", ""))
        chosen = " selected" if value == initial else ""
        label = (option.get("text") or {}).get("text", value)
        options.append(f'<option value="{escape(value)}"{chosen}>{escape(label)}</option>')
    return (
        f'<select class="static-select" data-action-id="{escape(element.get("action_id", ""))}"'
        f' data-block-id="{escape(block_id)}">{"".join(options)}</select>'
    )


def _element(element: dict[str, Any], block_id: str, ws: Workspace) -> str:
    kind = element.get("type")
    if kind in ("button", "feedback_buttons", "icon_button"):
        return _button(element, block_id)
    if kind == "static_select":
        return _static_select(element, block_id)
    if kind in ("mrkdwn", "plain_text"):
        return str(render_text_object(element, ws))
    if kind == "image":
        return f'<span class="img-alt">🖼 {escape(element.get("alt_text", ""))}</span>'
    return f'<span class="unsupported">[{escape(str(kind))}]</span>'


def _rich_text(elements: list[dict[str, Any]], ws: Workspace) -> str:
    out = []
    for el in elements:
        kind = el.get("type")
        if kind == "rich_text_section":
            out.append(f"<div>{_rich_inline(el.get('elements', []), ws)}</div>")
        elif kind == "rich_text_preformatted":
            out.append(f"<pre><code>{_rich_inline(el.get('elements', []), ws)}</code></pre>")
        elif kind == "rich_text_quote":
            out.append(f"<blockquote>{_rich_inline(el.get('elements', []), ws)}</blockquote>")
        elif kind == "rich_text_list":
            tag = "ol" if el.get("style") == "ordered" else "ul"
            items = "".join(
                f"<li>{_rich_inline(i.get('elements', []), ws)}</li>"
                for i in el.get("elements", [])
            )
            out.append(f"<{tag}>{items}</{tag}>")
    return "".join(out)


def _rich_inline(elements: list[dict[str, Any]], ws: Workspace) -> str:
    out = []
    for el in elements:
        kind = el.get("type")
        if kind == "text":
            piece = str(escape(el.get("text", ""))).replace("\n", "<br>")
            style = el.get("style") or {}
            for flag, tag in (
                ("code", "code"),
                ("bold", "strong"),
                ("italic", "em"),
                ("strike", "del"),
            ):
                if style.get(flag):
                    piece = f"<{tag}>{piece}</{tag}>"
            out.append(piece)
        elif kind == "user":
            out.append(_entity("@" + el.get("user_id", ""), ws))
        elif kind == "channel":
            out.append(_entity("#" + el.get("channel_id", ""), ws))
        elif kind == "link":
            out.append(_link(el.get("url", ""), el.get("text", "")))
        elif kind == "broadcast":
            out.append(_entity("!" + el.get("range", ""), ws))
        elif kind == "emoji":
            out.append(emoji_glyph(str(el.get("name", ""))))
    return "".join(out)


EMOJI = {
    "eyes": "👀",
    "white_check_mark": "✅",
    "heavy_check_mark": "✔️",
    "+1": "👍",
    "thumbsup": "👍",
    "-1": "👎",
    "thumbsdown": "👎",
    "thinking_face": "🤔",
    "x": "❌",
    "hourglass": "⌛",
    "hourglass_flowing_sand": "⏳",
    "warning": "⚠️",
    "tada": "🎉",
    "heart": "❤️",
    "rocket": "🚀",
    "bulb": "💡",
    "memo": "📝",
    "raised_hands": "🙌",
    "robot_face": "🤖",
    "question": "❓",
    "speech_balloon": "💬",
    "wave": "👋",
    "pray": "🙏",
    "fire": "🔥",
    "sos": "🆘",
    "rotating_light": "🚨",
    "information_source": "ℹ️",
    "mag": "🔍",
    "books": "📚",
    "link": "🔗",
    "smile": "😄",
    "slightly_smiling_face": "🙂",
    "sparkles": "✨",
    "stop_sign": "🛑",
    "bust_in_silhouette": "👤",
    "ok_hand": "👌",
}


def emoji_glyph(name: str) -> str:
    """A Slack emoji name as a character (known names) or as `:name:`."""
    return EMOJI.get(name, f":{escape(name)}:")


def render_block(block: dict[str, Any], ws: Workspace) -> str:
    kind = block.get("type")
    block_id = str(block.get("block_id", ""))
    if kind == "section":
        parts = [
            f'<div class="blk-text">{render_text_object(block.get("text"), ws)}</div>'
            if block.get("text")
            else ""
        ]
        if block.get("fields"):
            fields = "".join(f"<div>{render_text_object(f, ws)}</div>" for f in block["fields"])
            parts.append(f'<div class="blk-fields">{fields}</div>')
        if isinstance(block.get("accessory"), dict):
            parts.append(
                f'<div class="blk-accessory">{_element(block["accessory"], block_id, ws)}</div>'
            )
        return f'<div class="blk blk-section">{"".join(parts)}</div>'
    if kind == "header":
        return f'<div class="blk blk-header">{render_text_object(block.get("text"), ws)}</div>'
    if kind == "divider":
        return '<hr class="blk blk-divider">'
    if kind == "context":
        items = "".join(
            f"<span>{_element(e, block_id, ws)}</span>" for e in block.get("elements", [])
        )
        return f'<div class="blk blk-context">{items}</div>'
    if kind in ("actions", "context_actions"):
        items = "".join(_element(e, block_id, ws) for e in block.get("elements", []))
        return f'<div class="blk blk-{kind.replace("_", "-")}">{items}</div>'
    if kind == "markdown":
        return (
            f'<div class="blk blk-markdown">{render_markdown(str(block.get("text", "")), ws)}</div>'
        )
    if kind == "rich_text":
        return f'<div class="blk blk-rich">{_rich_text(block.get("elements", []), ws)}</div>'
    if kind == "image":
        title = render_text_object(block.get("title"), ws) if block.get("title") else ""
        return (
            f'<div class="blk blk-image"><span class="img-alt">🖼 '
            f"{escape(block.get('alt_text', ''))}</span> {title}</div>"
        )
    return f'<div class="blk unsupported">[{escape(str(kind))} block]</div>'


def render_body(
    text: str, blocks: list[dict[str, Any]] | None, is_markdown: bool, ws: Workspace
) -> Markup:
    """A message body the way Slack shows it: blocks when there are (non-rich-text) blocks,
    otherwise the text, as Markdown or mrkdwn."""
    render_text: Callable[[str, Workspace], Markup] = (
        render_markdown if is_markdown else render_mrkdwn
    )
    visible = [b for b in blocks or [] if b.get("type") != "rich_text"]
    if not visible:
        return render_text(text, ws) if text else Markup("")
    head = render_text(text, ws) if is_markdown and text else Markup("")
    return Markup(
        str(head)
        + "".join(
            render_block(b, ws) for b in blocks or [] if b.get("type") != "rich_text" or not text
        )
    )
