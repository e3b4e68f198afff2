"""Standalone rewriting of questions that lean on the thread."""

from kb.standalone import make_standalone, named_phrases

HISTORY = [
    {"role": "user", "content": "my R7 vacuum stopped charging, is the warranty still valid?"},
    {"role": "assistant", "content": "The R7 vacuum has a 2-year warranty."},
]


def test_pronoun_is_replaced_by_the_thread_subject() -> None:
    assert make_standalone("does that cover the battery too?", HISTORY) == (
        "does the R7 cover the battery too?"
    )
    turns = [{"role": "user", "content": "hello, I bought a Pebblewren E5 in the spring"}]
    assert make_standalone("how long is the motor covered on it?", turns) == (
        "how long is the motor covered on the Pebblewren E5?"
    )


def test_lowercase_names_count_when_the_kb_writes_them_capitalised() -> None:
    turns = [{"role": "user", "content": "i have a skylark at home"}]
    assert make_standalone("how loud is it?", turns, lambda w: w == "skylark") == (
        "how loud is the skylark?"
    )


def test_chinese_pronoun_is_replaced() -> None:
    turns = [{"role": "user", "content": "我买了一台 Aurelle T3"}]
    assert make_standalone("它的保修期是多久？", turns) == "Aurelle T3保修期是多久？"


def test_question_with_its_own_subject_or_without_history_is_unchanged() -> None:
    assert make_standalone("how loud is the Skylark P2?", HISTORY) == "how loud is the Skylark P2?"
    assert make_standalone("does that cover the battery?", []) == "does that cover the battery?"


def test_named_phrases_skip_sentence_fillers_and_measurements() -> None:
    assert named_phrases("Hello, I'm 178cm and I own a Cragfell GX and Tune Club Plus") == [
        "Cragfell GX",
        "Tune Club Plus",
    ]
    assert named_phrases("If I send it back, can I return a helmet if I've opened it?") == []
    # capitalised by position only, unless the knowledge base writes the word as a name
    assert named_phrases("Sorry to bother you. Quick question: is it loud?") == []
    assert named_phrases("Skylark: is it loud?", lambda w: w == "skylark") == ["Skylark"]


def test_the_bots_capitalised_words_are_not_the_threads_subject() -> None:
    turns = [
        {"role": "user", "content": "how do i make one of our public channels private?"},
        {
            "role": "assistant",
            "content": "Open the channel's settings, go to the General tab, "
            'and under Channel permissions change "Who can access the channel". Then save.',
        },
    ]
    question = "and if we flip it back to public, what happens to the old messages?"
    labels = {"open", "general", "channel", "who", "then"}  # the KB's capitalised UI labels
    assert make_standalone(question, turns, lambda w: w.lower() in labels) == question


def test_a_name_on_every_page_is_not_a_subject() -> None:
    turns = [{"role": "user", "content": "how do i update the email on my zulip account?"}]
    question = "there's no pencil there for me, what does that mean?"
    assert make_standalone(question, turns, lambda w: False) == question
    assert make_standalone(question, turns, lambda w: w == "zulip") == (
        "there's no pencil there for me, what does the zulip mean?"
    )
