"""Reading Markdown, text and HTML into titled, sectioned chunks."""

from kb.documents import parse_document
from kb.html import html_to_markdown


def test_markdown_front_matter_title_url_and_sections() -> None:
    raw = (
        "---\ntitle: Care Plans\nurl: https://help.example/care\n---\n# Ignored H1\n\n"
        "Intro text.\n\n## Prices\nCosts £5.\n\n### Refunds\nWithin 30 days.\n"
    ).encode()
    doc = parse_document("care.md", raw)
    assert doc.title == "Care Plans"
    assert doc.url == "https://help.example/care"
    assert [(c.heading, c.text) for c in doc.chunks] == [
        ("Care Plans", "Intro text."),
        ("Prices", "Costs £5."),
        ("Prices › Refunds", "Within 30 days."),
    ]


def test_markdown_table_rows_become_column_value_lines() -> None:
    raw = b"# Sizes\n\n| Size | Frame |\n|---|---|\n| M | 54 cm |\n| L | 57 cm |\n"
    doc = parse_document("sizes.md", raw)
    assert doc.chunks[0].text == "- Size: M; Frame: 54 cm.\n- Size: L; Frame: 57 cm."


def test_long_sections_are_split_into_bounded_chunks() -> None:
    body = "\n\n".join(f"Paragraph {i} " + "word " * 60 for i in range(10))
    doc = parse_document("long.md", f"# Long\n\n## Part\n{body}".encode())
    assert len(doc.chunks) > 1
    assert all(c.heading == "Part" and len(c.text) <= 900 for c in doc.chunks)


def test_plain_text_first_short_line_is_the_title() -> None:
    raw = b"Returns and Refunds\n\nYou have 45 days.\n\nRefunds take 6 days."
    doc = parse_document("returns.txt", raw)
    assert doc.title == "Returns and Refunds"
    assert doc.url is None
    assert "45 days" in doc.chunks[0].text


def test_html_canonical_title_and_content_without_scripts_or_nav() -> None:
    html = (
        '<html><head><title>Codes | Help</title><link rel="canonical" href="https://h.example/c">'
        "<script>var x='secret';</script></head><body><nav>Home</nav><h1>Error Codes</h1>"
        "<p>Intro.</p><table><tr><th>Code</th><th>Meaning</th></tr>"
        "<tr><td>E12</td><td>No signal</td></tr></table><footer>(c)</footer></body></html>"
    )
    title, canonical, body = html_to_markdown(html)
    assert (title, canonical) == ("Codes | Help", "https://h.example/c")
    doc = parse_document("codes.html", html.encode())
    assert doc.title == "Error Codes"  # the page's h1 beats the <title> with its site suffix
    assert doc.url == "https://h.example/c"
    text = " ".join(c.text for c in doc.chunks)
    assert "Code: E12; Meaning: No signal." in text
    assert "secret" not in body and "Home" not in text and "(c)" not in text
