"""Text helpers shared by indexing, retrieval and answering: pure functions, no I/O.

Owns Unicode normalisation, language detection, the lexical token stream (Snowball English
stemming, CJK character bigrams), splitting passages into quotable units, and pulling the
numbers and codes out of a text for the grounding post-check.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from dataclasses import dataclass
from typing import Literal

import snowballstemmer

CJK_RANGES = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af"
_CJK_CHAR = re.compile(f"[{CJK_RANGES}]")
_TOKEN = re.compile(f"[{CJK_RANGES}]+|[^\\W_]+", re.UNICODE)
_HAN_ONLY = re.compile("[\u3400-\u4dbf\u4e00-\u9fff]")

_STOPWORDS = """a an the and or but if then so of to in on at by for with from about as into
onto over
under is are was were be been being am do does did doing have has had having i me my
mine we us our you your yours he him his she her it its they them their this that these
those there here what which who whom whose when where why how can could would should
will shall may might must need just also too very any some much many more most not no
yes please hi hello thanks thank ok okay im ive id dont cant whats hows wheres thats
theres get got go going anything something thing things one let know want like tell s t"""
STOPWORDS = frozenset(_STOPWORDS.split())

# The lexical token stream's identity: an index built with another one is rebuilt.
TOKENIZER = "snowball-english+cjk-bigrams/1"
_STEMMER = snowballstemmer.stemmer("english")
_STEM_LOCK = threading.Lock()  # snowballstemmer's stemmer objects keep state between calls


def normalize(text: str) -> str:
    """NFKC, lowercase, collapse whitespace: the form every comparison in kb/ uses."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Snowball (Porter 2) English stem of an ASCII word; other words as they are."""
    if len(word) <= 3 or not word.isascii() or not word.isalpha():
        return word
    with _STEM_LOCK:
        return str(_STEMMER.stemWord(word))


def tokens(text: str, *, drop_stopwords: bool = False) -> list[str]:
    """Lexical tokens: stemmed words and numbers; runs of CJK characters become bigrams."""
    out: list[str] = []
    for match in _TOKEN.finditer(normalize(text)):
        run = match.group()
        if _CJK_CHAR.match(run):
            out.extend([run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)])
        elif not (drop_stopwords and run in STOPWORDS):
            out.append(stem(run))
    return out


def is_cjk(token: str) -> bool:
    return bool(token) and bool(_CJK_CHAR.match(token))


def cjk_ratio(text: str) -> float:
    """Share of letters that are CJK characters (0.0 for text without letters)."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    return sum(1 for c in letters if _CJK_CHAR.match(c)) / len(letters)


def detect_lang(text: str) -> str:
    """'zh' when Han characters carry the message, else 'en' (the only two templates we ship)."""
    han = len(_HAN_ONLY.findall(text))
    latin = sum(1 for c in text if c.isascii() and c.isalpha())
    return "zh" if han and han * 2 >= latin * 0.5 else "en"


# --- quotable units -----------------------------------------------------------------------

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"“(\[*]?[A-Z0-9])|(?<=[。！？；])")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+")
_STEP = re.compile(r"^\s*(\d+)[.)]\s+")
_CODE_FENCE = re.compile(r"^(`{3,}|~{3,})")

UnitKind = Literal["sentence", "item", "step", "code"]


@dataclass(frozen=True, slots=True)
class Unit:
    """A piece of a passage a reader can quote alone, with where it sits."""

    text: str  # verbatim; a list item without its marker; a code block with its fences
    kind: UnitKind  # "step": an item of a numbered list (a procedure)
    block: int  # which paragraph, list or code block of the passage it belongs to
    marker: str = ""  # "1." for a step


def passage_units(text: str, max_chars: int = 400) -> list[Unit]:
    """The quotable units of a passage's text (see kb.documents: one line per paragraph,
    list item or table row; code blocks fenced, over several lines): sentences of
    paragraphs, list items, and each code block whole."""
    units: list[Unit] = []
    block = -1
    prev = ""  # kind of the previous line, to tell where a list starts
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if not line:
            prev = ""
            continue
        fence = _CODE_FENCE.match(line)
        if fence:
            body = [lines[i - 1].strip()]
            while i < len(lines):
                body.append(lines[i])
                i += 1
                if lines[i - 1].strip() == fence.group(1):
                    break
            block += 1
            units.append(Unit("\n".join(body), "code", block))
            prev = "code"
            continue
        step = _STEP.match(line)
        if step or _LIST_ITEM.match(line):
            kind: UnitKind = "step" if step else "item"
            if prev != kind or (step and step.group(1) == "1"):
                block += 1
            item = _LIST_ITEM.sub("", line)
            marker = f"{step.group(1)}." if step else ""
            parts = [item] if len(item) <= max_chars else _sentences(item)
            units.extend(Unit(p, kind, block, marker) for p in parts)
            prev = kind
        else:
            block += 1
            units.extend(Unit(p, "sentence", block) for p in _sentences(line))
            prev = "sentence"
    return [u for u in units if len(u.text) > 1]


def split_units(text: str, max_chars: int = 400) -> list[str]:
    """Split passage text into units a reader can quote alone: list items, table rows
    (already flattened to one line each), sentences of paragraphs and whole code blocks."""
    return [u.text for u in passage_units(text, max_chars)]


def is_code(unit: str) -> bool:
    """A unit that is a fenced code block (to be shown as one, never joined into a line)."""
    return bool(_CODE_FENCE.match(unit))


def _sentences(paragraph: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(paragraph) if s and s.strip()]


# --- numbers and codes (the grounding post-check) ------------------------------------------

_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
_CODE = re.compile(  # letters and digits together: W41, GB-CL7, SK-H13
    r"\b(?=[A-Za-z0-9-]*\d)(?=[A-Za-z0-9-]*[A-Za-z])[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*\b"
)


def numbers_and_codes(text: str) -> set[str]:
    """Every number (digits with . , : inside) and alphanumeric code (W41, GB-CL) in text."""
    norm = unicodedata.normalize("NFKC", text)
    found = {m.group().replace(",", "") for m in _NUMBER.finditer(norm)}
    found |= {m.group().lower() for m in _CODE.finditer(norm)}
    return found


def ungrounded_facts(answer: str, sources: str) -> set[str]:
    """Numbers and codes in `answer` that appear nowhere in `sources`."""
    have = numbers_and_codes(sources)
    # A bare number that is part of a longer one ("30" of "09:30") is grounded too.
    have |= set(re.findall(r"\d+", unicodedata.normalize("NFKC", sources)))
    return numbers_and_codes(answer) - have


# --- names the knowledge base writes capitalised ---------------------------------------------


def proper_nouns(texts: list[str]) -> set[str]:
    """Lowercased words the texts write capitalised more often than not, in running text:
    product, place and plan names ("Cardiff", "GX"). A capital counts only right after a
    word or a comma; after a line's start, punctuation, a list marker, a label such as
    "_(optional)_" or bold ("**Preferences**") it says nothing ("Write a message")."""
    capital: dict[str, int] = {}
    lower: dict[str, int] = {}
    for text in texts:
        for line in text.splitlines():
            prev = ""
            for word in re.findall(r"[^\W_][\w'-]*|[^\w\s]", line):
                if word[0].isalpha():
                    key = word.lower()
                    if word[0].isupper():
                        if prev in ("w", ","):
                            capital[key] = capital.get(key, 0) + 1
                    elif prev not in ("", ".", "!", "?", ":", ";", "-", "*", "|", ">", "•"):
                        lower[key] = lower.get(key, 0) + 1
                prev = word if not word[0].isalnum() else "w"
    return {
        w for w, n in capital.items() if n > lower.get(w, 0) and len(w) >= 2 and w not in STOPWORDS
    }
