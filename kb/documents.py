"""Reading knowledge-base files (Markdown, plain text, HTML) into titled, sectioned passages.

Owns front matter (`title:`, `url:`; YAML read by python-frontmatter), HTML canonical links
and `<title>`, Markdown sections (parsed by markdown-it-py) with tables flattened to one
"Column: value" line per row, code fences kept whole (one block with its line breaks, never
joined into a line), and the split into passages of a bounded size that each keep their
document title and heading. Documentation-site furniture is read, not shown: MkDocs
(`!!! note`) and Docusaurus (`:::info`) admonitions keep their text, template macros
(`{!file.md!}`, `{start_tabs}`, `{tab|web}`, `{% ... %}`), MDX imports and JSX tags, inline
HTML tags and site-relative link targets are dropped. Pure: no database, no model.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import frontmatter
import yaml
from markdown_it import MarkdownIt

from kb.html import html_to_markdown

SUFFIXES = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".html": "html",
    ".htm": "html",
}
CODE_FENCE = "```"  # how a passage's text marks a code block (kept with its line breaks)
MAX_PASSAGE_CHARS = 900  # ~200 word pieces: inside MiniLM's 256-token window with the title


@dataclass(frozen=True, slots=True)
class Chunk:
    heading: str
    text: str


@dataclass(slots=True)
class Document:
    path: str  # relative to the KB root, '/'-separated; the document's identity
    title: str
    url: str | None
    sha256: str
    chunks: list[Chunk] = field(default_factory=list)


def is_kb_file(path: Path) -> bool:
    return path.suffix.lower() in SUFFIXES and not path.name.startswith(".")


def content_hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def parse_document(rel_path: str, raw: bytes) -> Document:
    """Parse one file's bytes into a Document with its chunks."""
    kind = SUFFIXES[Path(rel_path).suffix.lower()]
    text = raw.decode("utf-8", errors="replace").replace("\r\n", "\n")
    meta, body = _front_matter(text)
    url = meta.get("url") or None
    html_title = ""
    if kind == "html":
        html_title, canonical, body = html_to_markdown(body)
        url = url or canonical
    elif kind == "text":
        body = _text_to_markdown(body)
    if kind == "markdown":
        body = clean_markdown(body)
    title, sections = _sections(body)
    title = meta.get("title") or title or html_title or _title_from_path(rel_path)
    chunks = [c for heading, lines in sections for c in _chunk_section(heading or title, lines)]
    return Document(rel_path, title, url, content_hash(raw), chunks)


def _front_matter(text: str) -> tuple[dict[str, str], str]:
    """YAML front matter (python-frontmatter, safe loader) as lowercased keys -> strings."""
    try:
        meta, body = frontmatter.parse(text)
    except yaml.YAMLError as err:
        raise ValueError(f"bad front matter: {err}") from None
    return {str(k).lower(): str(v).strip() for k, v in meta.items() if v is not None}, body


def _text_to_markdown(text: str) -> str:
    """Plain text: a short first line is the title; blank lines separate paragraphs."""
    lines = text.strip().split("\n")
    if lines and 0 < len(lines[0]) <= 80 and not lines[0].rstrip().endswith((".", ":")):
        lines[0] = "# " + lines[0].strip()
    return "\n".join(lines)


def _title_from_path(rel_path: str) -> str:
    return Path(rel_path).stem.replace("-", " ").replace("_", " ").strip().capitalize()


_MD = MarkdownIt("commonmark", {"html": False}).enable("table")

# --- documentation-site furniture ------------------------------------------------------------

_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
# MkDocs / Python-Markdown: `!!! tip "Title"` or `??? note` over a block indented 4 spaces.
_MKDOCS_ADMONITION = re.compile(r'^(\s*)(?:!!!|\?\?\?\+?)\s*[\w-]+(?:\s+"([^"]*)")?\s*$')
# Docusaurus: `:::info Title`, `:::tip[Title]`, closed by `:::`.
_DOCUSAURUS_ADMONITION = re.compile(r"^\s*:{3,}\s*[\w-]*\s*(?:\[(.*)\]|(.*))$")
# A line that is only a template macro: `{start_tabs}`, `{tab|web}`, `{!include.md!}`,
# `{% include x %}`, `{{ variable }}`.
_MACRO_LINE = re.compile(
    r"^\s*(?:\{![^{}]*!\}|\{%[^{}]*%\}|\{\{[^{}]*\}\}|\{[A-Za-z_][\w-]*(?:\|[^{}]*)?\})\s*$"
)
_INLINE_MACRO = re.compile(r"\{![^{}]*!\}|\{%[^{}]*%\}|\{\{[^{}]*\}\}|\{[a-z_][\w-]*\|[^{}\s]*\}")
_MDX_LINE = re.compile(
    r"^\s*(?:import\s.+\sfrom\s+['\"].+['\"];?|import\s+['\"].+['\"];?"
    r"|export\s+(?:default\s+)?(?:const|function|let|var)\b.*)\s*$"
)
_JSX_LINE = re.compile(r"^\s*</?[A-Z][\w.]*(?:\s[^<>]*)?/?>\s*$")  # <Tabs>, <TabItem value=..>
_HTML_TAG = re.compile(r"</?[A-Za-z][\w-]*(?:\s[^<>]*)?/?>")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_RELATIVE_LINK = re.compile(r"\[([^\[\]]+)\]\((?!https?:|mailto:)[^()\s]*\)")
_EMPTY_PARENS = re.compile(r"[ \t]*\([ \t]*\)")
_INNER_SPACES = re.compile(r"(?<=\S)[ \t]{2,}(?=\S)")
_INLINE_CODE = re.compile(r"(?<!`)(`+)(?!`)(?:(?!\n[ \t]*\n).)+?(?<!`)\1(?!`)", re.S)
_TAB_MACRO = re.compile(r"^\s*\{tab\|([\w-]+)\}\s*$")  # a platform tab: its name is a label
_JSX_TAB = re.compile(r"^\s*<TabItem\b[^<>]*\blabel=[\"']([^\"']+)[\"'][^<>]*>\s*$")


def clean_markdown(body: str) -> str:
    """Documentation-site Markdown as a reader of the rendered page sees it: admonition
    bodies as plain paragraphs (their title, if any, as a bold line), and no template
    macros, MDX imports, JSX component tags, HTML tags or comments, or link targets that
    only mean something on the site (`[text](/help/x)` becomes `text`). Code fences and
    inline code are left exactly as written."""
    out: list[str] = []
    fence = ""
    indent = None  # the body indent of the MkDocs admonition being read
    for line in _HTML_COMMENT.sub("", body).split("\n"):
        opening = _FENCE.match(line)
        if fence:
            out.append(line)
            if opening and opening.group(1)[0] == fence[0] and len(opening.group(1)) >= len(fence):
                fence = ""
            continue
        if indent is not None:
            if not line.strip():
                out.append("")
                continue
            width = len(line) - len(line.lstrip(" "))
            if width >= indent:
                line = line[4:]  # the admonition's body, one level out
                opening = _FENCE.match(line)
            else:
                indent = None
        if opening:
            fence = opening.group(1)
            out.append(line)
            continue
        m = _MKDOCS_ADMONITION.match(line)
        if m:
            indent = len(m.group(1)) + 4
            out.extend([f"{m.group(1)}**{m.group(2)}**", ""] if m.group(2) else [""])
            continue
        m = _DOCUSAURUS_ADMONITION.match(line)
        if m:
            title = (m.group(1) or m.group(2) or "").strip()
            out.extend([f"**{title}**", ""] if title else [""])
            continue
        m = _TAB_MACRO.match(line) or _JSX_TAB.match(line)
        if m:  # "{tab|desktop-web}" -> "**Desktop web**", so the tabs' lists stay apart
            out.extend(["", f"**{m.group(1).replace('-', ' ').strip().capitalize()}**", ""])
            continue
        if _MACRO_LINE.match(line) or _MDX_LINE.match(line) or _JSX_LINE.match(line):
            out.append("")
            continue
        out.append(line)
    return _outside_code("\n".join(out), _clean_prose)


def _clean_prose(text: str) -> str:
    text = _INLINE_MACRO.sub("", text)
    text = _RELATIVE_LINK.sub(r"\1", text)
    text = _HTML_TAG.sub("", text)
    text = _EMPTY_PARENS.sub("", text)  # "the **gear** (<i ...></i>) icon" -> "the **gear** icon"
    return _INNER_SPACES.sub(" ", text)  # where a tag was between two words


def _outside_code(text: str, fn: Callable[[str], str]) -> str:
    """Apply `fn` to the text outside code fences and inline code spans."""
    parts: list[str] = []
    prose: list[str] = []
    fence = ""

    def flush() -> None:
        if prose:
            chunk = "\n".join(prose)
            pieces = _INLINE_CODE.split(chunk)  # with the group: text, ticks, text, ...
            spans = [m.group() for m in _INLINE_CODE.finditer(chunk)]
            rebuilt = fn(pieces[0])
            for span, rest in zip(spans, pieces[2::2], strict=True):
                rebuilt += span + fn(rest)
            parts.append(rebuilt)
            prose.clear()

    for line in text.split("\n"):
        opening = _FENCE.match(line)
        if fence:
            parts.append(line)
            if opening and opening.group(1)[0] == fence[0] and len(opening.group(1)) >= len(fence):
                fence = ""
        elif opening:
            flush()
            fence = opening.group(1)
            parts.append(line)
        else:
            prose.append(line)
    flush()
    return "\n".join(parts)


def _sections(body: str) -> tuple[str, list[tuple[str, list[str]]]]:
    """Split Markdown (parsed by markdown-it-py) into (heading, lines) sections: one line per
    paragraph, list item or table row, with a blank line after each paragraph. The first
    level-1 heading is the title; deeper headings become "Parent › Child" paths."""
    title = ""
    sections: list[tuple[str, list[str]]] = [("", [])]
    path: dict[int, str] = {}  # heading level -> text
    tokens = _MD.parse(body)
    markers: list[str] = []  # the list we are in: "-" or the next number
    header: list[str] = []  # the table's column names
    row: list[str] | None = None
    for n, tok in enumerate(tokens):
        lines = sections[-1][1]
        if tok.type == "heading_open":
            level, text = int(tok.tag[1]), _strip_inline(tokens[n + 1].content)
            if level == 1 and not title:
                title = text
                continue
            path = {lv: t for lv, t in path.items() if lv < level} | {level: text}
            sections.append((" › ".join(t for _, t in sorted(path.items())), []))
        elif tok.type in ("bullet_list_open", "ordered_list_open"):
            markers.append(
                "-" if tok.type == "bullet_list_open" else str(tok.attrGet("start") or 1)
            )
        elif tok.type in ("bullet_list_close", "ordered_list_close"):
            markers.pop()
            lines.append("")
        elif tok.type == "inline" and tokens[n - 1].type == "paragraph_open":
            text = " ".join(line.strip() for line in tok.content.splitlines())
            if markers and tokens[n - 2].type == "list_item_open":  # a list item's own text
                marker = markers[-1]
                lines.append(f"- {text}" if marker == "-" else f"{marker}. {text}")
                if marker != "-":
                    markers[-1] = str(int(marker) + 1)
            elif markers:  # a further paragraph of the item: it continues the item's line
                lines.append(text)
            else:
                lines.extend([text, ""])
        elif tok.type in ("fence", "code_block"):
            info = tok.info.strip().split()[0] if tok.type == "fence" and tok.info.strip() else ""
            code = tok.content.rstrip()
            ticks = "`" * max(3, 1 + max((len(r) for r in re.findall("`+", code)), default=0))
            lines.extend([f"{ticks}{info}\n{code}\n{ticks}", ""])
        elif tok.type == "tr_open":
            row = []
        elif tok.type == "inline" and row is not None:
            row.append(_strip_inline(tok.content))
        elif tok.type == "tr_close" and row is not None:
            if tokens[n - 1].type == "th_close":
                header = row
            else:
                lines.append(_table_row(header, row))
            row = None
        elif tok.type == "table_close":
            lines.append("")
    return title, [(h, ls) for h, ls in sections if any(x.strip() for x in ls)]


def _table_row(header: list[str], cells: list[str]) -> str:
    """'| M | 54 cm |' under 'Size | Frame' becomes 'Size: M; Frame: 54 cm.'"""
    pairs = [f"{h}: {c}" if h else c for h, c in zip(header, cells, strict=False) if c]
    row = "; ".join(pairs)
    return "- " + (row if row.endswith((".", "!", "?", "。")) else row + ".")


def _strip_inline(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _chunk_section(heading: str, lines: list[str]) -> list[Chunk]:
    """Group a section's paragraphs and list items into chunks of at most MAX_PASSAGE_CHARS."""
    blocks: list[str] = []
    for line in lines:
        if not line.strip():
            blocks.append("")
        elif line.startswith(CODE_FENCE):
            blocks.extend([line, ""])  # a code block stays one block, its lines unjoined
        elif (
            blocks
            and blocks[-1]
            and not blocks[-1].startswith(CODE_FENCE)
            and not re.match(r"^\s*([-*+]|\d+[.)])\s", line)
        ):
            blocks[-1] += " " + line.strip()  # a paragraph wrapped over several lines
        else:
            blocks.append(line.strip())
    blocks = [b for b in blocks if b]
    chunks: list[Chunk] = []
    current: list[str] = []
    for block in blocks:
        if current and len("\n".join([*current, block])) > MAX_PASSAGE_CHARS:
            chunks.append(Chunk(heading, "\n".join(current)))
            current = []
        current.append(block)
    if current:
        chunks.append(Chunk(heading, "\n".join(current)))
    return chunks
