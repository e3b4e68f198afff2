"""Make the latest message of a thread stand alone, so retrieval sees what "it" refers to.

Owns a rule-based rewrite (a 135M model rewrites unreliably): when the question leans on
earlier turns (a pronoun, or no named thing of its own), the most recent *specific* named
things from the thread replace the first pronoun or are appended. Specific means a name
the knowledge base could be about: several words or a model number ("Pebblewren E5",
"Minnow 16"), or one word the caller's `is_specific` accepts (a name the knowledge base
writes in a few documents, not the product's own name that is everywhere). Capitalised
words of the bot's own answer ("Open the General tab. Then save") are not a subject, and
a thread with no specific name leaves the question as it is: retrieval also searches the
question with the thread's last user message (see Retriever.search), so the subject is
not lost. Pure: the caller passes the vocabulary.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from kb.text import STOPWORDS, cjk_ratio, stem, tokens

_EN_PRONOUN = re.compile(
    r"\b(it|its|it's|this|that|these|those|they|them|their|this one|that one|the same)\b", re.I
)
_ZH_PRONOUN = re.compile("它们|它的|它|这个|那个|这款|那款|该产品|这台|那台|这辆|那辆|上面")
# Capitalised or code-like words in a row: "Pebblewren E5", "Tune Club Plus", "R7".
_NAMED = re.compile(
    r"(?:\b(?:[A-Z][\w'-]*|[a-zA-Z]*\d[\w-]*)\b)(?:[ \t]+(?:[A-Z][\w'-]*|[a-zA-Z]*\d[\w-]*)\b)*"
)
# Openers that are no names, beyond the stopwords ("I", "Hi", "Thanks", "What"...).
_SENTENCE_START_FILLERS = {"hey", "great", "happy"}


def named_phrases(text: str, is_rare: Callable[[str], bool] | None = None) -> list[str]:
    """Product-like names in `text`, in order: capitalised or digit-bearing runs of words,
    and (when `is_rare` is given) lowercase words the knowledge base uses rarely."""
    found: list[str] = []
    for m in _NAMED.finditer(text):
        words = m.group().split()
        while words and _filler(words[0]):
            words = words[1:]
        while words and _filler(words[-1]):  # "If I", "I've": the asker, not a name
            words = words[:-1]
        phrase = " ".join(words)
        if len(words) == 1 and words[0][:1].isdigit():
            continue  # a number or a measurement ("178cm"), not a name
        if _by_position(words, text, m.start(), is_rare):  # where the run starts
            continue  # "Sorry to bother you. Quick question": capitalised by position
        if phrase and (len(words) > 1 or not words[0].isalpha() or len(words[0]) > 2):
            found.append(phrase)
    if is_rare is not None:
        seen = {t for p in found for t in tokens(p)}
        for word in re.findall(r"[^\W_]+", text):
            low = word.lower()
            key = stem(low)  # `seen` holds tokens, which are stemmed
            if low not in STOPWORDS and key not in seen and is_rare(low) and word not in found:
                found.append(word)
                seen.add(key)
    return found


def _by_position(
    words: list[str], text: str, at: int, is_rare: Callable[[str], bool] | None
) -> bool:
    """A lone word capitalised only because it starts a sentence ("Quick question:"), and
    not one the knowledge base writes as a name (`is_rare`)."""
    if len(words) != 1 or not words[0].isalpha():
        return False
    before = text[:at].rstrip(" \t\"'(*_")
    at_start = not before or before[-1] in ".!?:;\n"
    return at_start and (is_rare is None or not is_rare(words[0].lower()))


def _filler(word: str) -> bool:
    """A capitalised word that is no name: a stopword ("I've" as "ive") or an opener."""
    low = word.lower().strip("'").replace("'", "")
    return low in STOPWORDS or low in _SENTENCE_START_FILLERS


def make_standalone(
    question: str, history: list[dict], is_specific: Callable[[str], bool] | None = None
) -> str:
    """The question rewritten to carry the thread's subject when it depends on it."""
    question = question.strip()
    if not history:
        return question
    own = named_phrases(question, is_specific)
    zh = cjk_ratio(question) > 0.3
    pronoun = (_ZH_PRONOUN if zh else _EN_PRONOUN).search(question)
    if own and not pronoun:
        return question
    subject = _thread_subject(history, is_specific, exclude=own)
    if not subject:
        return question
    if pronoun and not zh and pronoun.group(1).lower() in ("it", "this", "that", "them", "they"):
        start, end = pronoun.span()
        return f"{question[:start]}the {subject}{question[end:]}"
    if pronoun and zh:
        start, end = pronoun.span()
        return f"{question[:start]}{subject}{question[end:]}"
    return f"{question} ({subject})"


def _thread_subject(
    history: list[dict], is_specific: Callable[[str], bool] | None, exclude: list[str]
) -> str:
    """The specific names of the most recent turn that has any, users' turns first."""
    skip = {p.lower() for p in exclude}
    for role in ("user", "assistant"):
        for turn in reversed(history):
            if turn.get("role") != role:
                continue
            # the bot's own words name UI labels, not the asker's subject: its multi-word
            # names and model numbers only
            vocabulary = is_specific if role == "user" else None
            names = [
                p
                for p in named_phrases(str(turn.get("content", "")), vocabulary)
                if p.lower() not in skip and _specific(p, vocabulary)
            ]
            if names:
                return " ".join(dict.fromkeys(names))
    return ""


def _specific(phrase: str, is_specific: Callable[[str], bool] | None) -> bool:
    """Several words or a model number, or one word the knowledge base names specifically."""
    words = phrase.split()
    if len(words) > 1 or any(ch.isdigit() for ch in phrase):
        return True
    return is_specific is not None and is_specific(phrase)
