"""Answerability checks on the chosen evidence, beyond its similarity score.

Owns two classic QA tests that a bi-encoder cannot make: the expected answer type (a "how
much does it cost" question needs a price in the evidence, "how long" a duration, "how
heavy" a weight...) and entity consistency (evidence for "the X's weight" must be about X,
not about a Y named in its section heading). A failed check turns an answer into a hedge.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from kb.standalone import named_phrases
from kb.text import STOPWORDS, normalize, tokens

_NUM = (
    r"(?:\d+(?:[.,:]\d+)*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
    r"|a|an|half)"
)
# "4 working days", "10 calendar days", "two full weeks": a word between number and unit
_DURATION_QUALIFIER = r"(?:(?:working|business|calendar|banking|full|whole|clear)\s)?"
_ZH_NUM = r"(?:\d+(?:\.\d+)?|[一二两三四五六七八九十百千半]+)"

# type -> (question cues, evidence patterns); matched on normalized (NFKC, lowercase) text.
ANSWER_TYPES: dict[str, tuple[str, str]] = {
    "price": (
        r"\b(cost|costs|price|prices|priced|fee|fees|pay|paying|expensive|cheap)\b"
        r"|多少钱|价格|费用|收费|价钱|几块钱|多少元",
        r"[£$€¥]\s?\d|\d\s?(eur|euros?|usd|gbp|pounds?|dollars?)\b|\bfree\b|no charge|免费"
        r"|\d\s?(元|美元|欧元|英镑)",
    ),
    "duration": (
        r"how long|how soon|how many (seconds|minutes|hours|days|weeks|months|years)"
        r"|多久|多长时间|几天|多少天|几个月|多少年|几年|几分钟|几秒",
        rf"\b{_NUM}[\s-]?{_DURATION_QUALIFIER}(seconds?|secs?|minutes?|mins?|hours?|hrs?|days?"
        r"|weeks?|months?"
        r"|years?)\b|\b(lifetime|immediately|straight away|same day)\b"
        rf"|{_ZH_NUM}\s?(秒|分钟|小时|天|周|个月|年)",
    ),
    "time_of_day": (
        r"what time|\bwhen does\b.*\b(open|close)|opening (hours|times)|几点|营业时间",
        r"\d{1,2}[:.]\d{2}|\d\s?(am|pm)\b|\d点",
    ),
    "weight": (
        r"\bweigh|\bweight\b|how heavy|重量|多重|多少公斤",
        r"\d\s?(kg|g|lbs?|kilos?|kilograms?|grams?|pounds?)\b|\d\s?(公斤|千克|克)",
    ),
    "speed": (
        r"\bspeed\b|how fast|时速|速度",
        r"\d\s?(km/h|kph|mph|m/s)\b|\d\s?(公里/小时|公里每小时)",
    ),
    "power": (
        r"\bwatts?\b|wattage|power consumption|how much power|功率|耗电",
        r"\d\s?(w|kw|kwh|watts?)\b|\d\s?(瓦|千瓦)",
    ),
    "distance": (
        r"how (far|high|tall|wide|deep|big)|\bdistance\b|\brange\b|多远|多高|多宽|续航",
        r"\d\s?(mm|cm|m|km|metres?|meters?|inch(es)?|ft|feet|miles?)\b|\d\s?(公里|千米|米|厘米)",
    ),
    "size": (  # of a file, an upload, an image
        r"\b(biggest|largest|max(imum)? (file |upload |attachment )?size|size limit"
        r"|file size|how (big|large) (a|can|is)|upload limit)\b",
        r"\d\s?(b|kb|mb|gb|tb|bytes?|kilobytes?|megabytes?|gigabytes?|px|pixels?)\b",
    ),
    "count": (  # a number, not the article "a"
        r"how many|\bmax(imum)? (number|amount|count) of|\blimit (on|to) (the number|how many)"
        r"|多少个|几个|几次|多少次|多少台|多少",
        rf"\b(?!(?:a|an|half)\b){_NUM}\b|{_ZH_NUM}",
    ),
}
_HOW_MUCH = re.compile(r"how much")


def expected_types(question: str) -> set[str]:
    """The answer types a question asks for (empty when it does not ask for a quantity)."""
    q = normalize(question)
    found = {name for name, (cues, _) in ANSWER_TYPES.items() if re.search(cues, q)}
    if _HOW_MUCH.search(q) and not found - {"count"}:
        found.add("price")  # a bare "how much is X" asks for a price
    if len(found) > 1:
        found.discard("count")  # "how many days" wants a duration, not any number
    return found


def has_answer_type(evidence: str, types: set[str]) -> bool:
    if not types:
        return True
    text = normalize(evidence)
    return any(re.search(ANSWER_TYPES[t][1], text) for t in types)


def entities_consistent(
    question: str,
    unit: str,
    heading: str,
    title: str,
    is_name: Callable[[str], bool],
    in_kb: Callable[[str], bool],
) -> bool:
    """False when the question names things and the evidence is about something else, or
    names something the knowledge base never mentions."""
    wanted = [set(tokens(p)) for p in named_phrases(question, is_name) if _distinctive(p)]
    wanted = [w for w in wanted if w]
    if not wanted:
        return True
    if any(not any(in_kb(t) for t in w) for w in wanted):
        return False
    if any(_mentions(w, f"{unit} {heading}") for w in wanted):
        return True
    # The section heading names a different thing: the unit is about that, not ours.
    for phrase in named_phrases(heading):
        if _distinctive(phrase, heading_phrase=True) and not any(
            set(tokens(phrase)) & w for w in wanted
        ):
            return False
    return any(_mentions(w, title) for w in wanted)


def _mentions(wanted: set[str], text: str) -> bool:
    have = set(tokens(text))
    return len(wanted & have) * 2 >= len(wanted)


def _distinctive(phrase: str, *, heading_phrase: bool = False) -> bool:
    """Names worth checking: multi-word, code-like (has a digit) or, in a question, any
    rare word of three letters or more. A heading's lone first word is just a heading."""
    words = phrase.split()
    if len(words) > 1 or any(ch.isdigit() for ch in phrase):
        return True
    return not heading_phrase and len(phrase) >= 3


# --- is the evidence about what was asked? --------------------------------------------------

ABOUT_DENSE = 0.5  # a unit this close to the question is about it, whatever its words
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_INFLECTIONS = ("ing", "ed", "es", "s", "er", "ers", "ly", "d")


_ADDRESS = re.compile(r"\S+@\S+|@\S+|https?://\S+|\b[\w-]+\.(?:com|org|net|io|dev|co)\b\S*")
_CONTRACTION = re.compile(
    r"^(?:have|has|had|do|does|did|is|are|was|were|wo|ca|could|would|should|must)nt$"
)


def unknown_names(
    question: str,
    in_kb: Callable[[str], bool],
    is_word: Callable[[str], bool],
    near_kb: Callable[[str], bool] | None = None,
) -> list[str]:
    """Words of the question that are neither in the knowledge base nor ordinary words (not
    whole words in the embedder's vocabulary, even without an inflection): brand and product
    names it never mentions ("homekit"). Evidence cannot be about them. Not names: e-mail
    addresses, handles and URLs (the asker's own), apostrophe-less contractions ("havent"),
    a misspelt knowledge-base word (`near_kb`: "permision"), a compound of two ordinary
    words of four letters or more ("screensharing") and a prefixed one ("recharge")."""
    found = []
    for word in _WORD.findall(_ADDRESS.sub(" ", normalize(question))):
        if len(word) < 4 or word in STOPWORDS or any(in_kb(t) for t in tokens(word)):
            continue
        if _CONTRACTION.match(word) or (near_kb is not None and near_kb(word)):
            continue
        if not _ordinary(word, is_word) and not _compound(word, is_word):
            found.append(word)
    return found


_PREFIXES = ("re", "un", "pre", "non", "over", "under", "out", "sub", "auto", "mis", "dis", "de")


def _compound(word: str, is_word: Callable[[str], bool]) -> bool:
    """Two ordinary words ("screensharing"), or a prefix and one ("recharge", "unmute")."""
    if any(
        word.startswith(p) and len(word) - len(p) >= 4 and _ordinary(word[len(p) :], is_word)
        for p in _PREFIXES
    ):
        return True
    return any(
        _ordinary(word[:i], is_word) and _ordinary(word[i:], is_word)
        for i in range(4, len(word) - 3)
    )


def near_word(word: str, vocabulary: set[str]) -> bool:
    """`word` is one edit (insert, delete, substitute, swap) from a vocabulary word of five
    letters or more: a typo, not a new name."""
    return len(word) >= 5 and bool(_edits(word) & vocabulary)


def _edits(word: str) -> set[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    return (
        {a + b[1:] for a, b in splits if b}
        | {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
        | {a + c + b[1:] for a, b in splits if b for c in letters}
        | {a + c + b for a, b in splits for c in letters}
    )


def _ordinary(word: str, is_word: Callable[[str], bool]) -> bool:
    if is_word(word):
        return True
    for suffix in _INFLECTIONS:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: -len(suffix)]
            # "binned" -> "bin", "changed" -> "chang" + "e"
            if (
                is_word(base)
                or is_word(base + "e")
                or (len(base) > 3 and base[-1] == base[-2] and is_word(base[:-1]))
            ):
                return True
    return False


def subject_words(question: str, is_name: Callable[[str], bool]) -> set[str]:
    """What the question asks about, beyond the names in it: its content words less the
    product, place and plan names (a passage sharing only "France" is not about the
    capital of France)."""
    names = {t for p in named_phrases(question, is_name) for t in tokens(p)}
    return set(tokens(question, drop_stopwords=True)) - names


def about_subject(
    question: str, evidence: str, dense: float, is_name: Callable[[str], bool]
) -> bool:
    """False only when `evidence` (a unit with its heading and title) matches the question
    through a name alone: it shares one of the question's names but none of its subject
    words, and is not very close in meaning ("Ireland" in a shipping table is not about the
    population of Ireland). Evidence that shares no name is left to the calibrated score:
    a paraphrase shares no words at all. A question with names only ("Pebblewren W41?") is
    about its names, which retrieval already matched."""
    if dense >= ABOUT_DENSE:
        return True
    wanted = subject_words(question, is_name)
    have = set(tokens(evidence))
    if not wanted or wanted & have:
        return True
    names = {t for p in named_phrases(question, is_name) for t in tokens(p)}
    return not names & have
