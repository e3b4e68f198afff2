"""HTML to the small Markdown subset the chunker reads, with the stdlib parser.

Owns which HTML carries content (headings, paragraphs, list items, table rows) and which
does not (script, style, nav, header, footer, aside, forms), plus the `<title>` and the
`<link rel="canonical">` URL. Knows nothing about chunks or the index.
"""

from __future__ import annotations

from html.parser import HTMLParser

_SKIP = {"script", "style", "nav", "header", "footer", "aside", "form", "noscript", "template"}
_BLOCK = {"p", "div", "section", "article", "main", "br", "blockquote", "pre", "dd", "dt"}
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}


class _Converter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.buf: list[str] = []
        self.prefix = ""
        self.skip_depth = 0
        self.in_title = False
        self.title = ""
        self.canonical: str | None = None
        self.row: list[str] | None = None
        self.cell: list[str] | None = None
        self.rows_in_table = 0

    def _flush(self) -> None:
        text = " ".join("".join(self.buf).split())
        if text:
            self.lines.append(self.prefix + text)
        self.buf, self.prefix = [], ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip_depth += 1
        elif tag == "title":
            self.in_title = True
        elif tag == "link":
            a = dict(attrs)
            if (a.get("rel") or "").lower() == "canonical" and a.get("href"):
                self.canonical = a["href"]
        elif tag in _HEADINGS:
            self._flush()
            self.prefix = "#" * _HEADINGS[tag] + " "
        elif tag == "li":
            self._flush()
            self.prefix = "- "
        elif tag == "table":
            self._flush()
            self.rows_in_table = 0
        elif tag == "tr":
            self._flush()
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = []
        elif tag in _BLOCK:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag == "title":
            self.in_title = False
        elif tag in ("td", "th") and self.row is not None and self.cell is not None:
            self.row.append(" ".join("".join(self.cell).split()).replace("|", "/"))
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.lines.append("| " + " | ".join(self.row) + " |")
            if self.rows_in_table == 0:
                self.lines.append("|" + "---|" * len(self.row))
            self.rows_in_table += 1
            self.row = None
        elif tag == "table":
            self.lines.append("")
        elif tag in _HEADINGS or tag == "li" or tag in _BLOCK:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title += data
        elif self.skip_depth:
            return
        elif self.cell is not None:
            self.cell.append(data)
        else:
            self.buf.append(data)


def html_to_markdown(html: str) -> tuple[str, str | None, str]:
    """Return (title, canonical URL or None, Markdown body)."""
    conv = _Converter()
    conv.feed(html)
    conv.close()
    conv._flush()
    title = " ".join(conv.title.split())
    has_h1 = any(line.startswith("# ") for line in conv.lines)
    body = "\n".join(conv.lines)
    if title and not has_h1:
        body = f"# {title}\n{body}"
    return title, conv.canonical, body
