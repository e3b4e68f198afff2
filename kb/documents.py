"""Reading knowledge-base files (Markdown, plain text, HTML) into titled, sectioned passages.

Owns front matter (`title:`, `url:`; YAML read by python-frontmatter), HTML canonical links
and `<title>`, Markdown sections (parsed by markdown-it-py) with tables flattened to one
"Column: value" line per row, and the split into passages of a bounded size that each keep
their document title and heading. Pure: no database, no model.
"""

from __future__ import annotations

import hashlib
import re
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
            if tokens[n - 1].hidden and markers:  # a list item's own text
                marker = markers[-1]
                lines.append(f"- {text}" if marker == "-" else f"{marker}. {text}")
                if marker != "-":
                    markers[-1] = str(int(marker) + 1)
            else:
                lines.extend([text, ""])
        elif tok.type in ("fence", "code_block"):
            lines.extend([*tok.content.rstrip("\n").splitlines(), ""])
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
        elif blocks and blocks[-1] and not re.match(r"^\s*([-*+]|\d+[.)])\s", line):
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
