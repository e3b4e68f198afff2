"""Standalone rewriting of questions that lean on the thread."""

from kb.standalone import make_standalone, named_phrases

HISTORY = [
    {"role": "user", "content": "my R7 vacuum stopped charging, is the warranty still valid?"},
    {"role": "assistant", "content": "The R7 vacuum has a 2-year warranty."},
]


def test_pronoun_is_replaced_by_the_thread_subject() -> None:
    assert make_standalone("does that cover the battery too?", HISTORY) == (
        "does the R7 cover the battery too?")
    turns = [{"role": "user", "content": "hello, I bought a Pebblewren E5 in the spring"}]
    assert make_standalone("how long is the motor covered on it?", turns) == (
        "how long is the motor covered on the Pebblewren E5?")


def test_lowercase_names_count_when_the_kb_writes_them_capitalised() -> None:
    turns = [{"role": "user", "content": "i have a skylark at home"}]
    assert make_standalone("how loud is it?", turns, lambda w: w == "skylark") == (
        "how loud is the skylark?")


def test_chinese_pronoun_is_replaced() -> None:
    turns = [{"role": "user", "content": "我买了一台 Aurelle T3"}]
    assert make_standalone("它的保修期是多久？", turns) == "Aurelle T3保修期是多久？"


def test_question_with_its_own_subject_or_without_history_is_unchanged() -> None:
    assert make_standalone("how loud is the Skylark P2?", HISTORY) == "how loud is the Skylark P2?"
    assert make_standalone("does that cover the battery?", []) == "does that cover the battery?"


def test_named_phrases_skip_sentence_fillers_and_measurements() -> None:
    assert named_phrases("Hello, I'm 178cm and I own a Cragfell GX and Tune Club Plus") == [
        "Cragfell GX", "Tune Club Plus"]
