"""Pure text helpers: tokens, language, quotable units, numbers and names."""

from kb.text import (
    detect_lang,
    numbers_and_codes,
    proper_nouns,
    split_units,
    stem,
    tokens,
    ungrounded_facts,
)


def test_cjk_text_becomes_character_bigrams() -> None:
    assert tokens("电池充电") == ["电池", "池充", "充电"]


def test_english_tokens_are_lowercased_stemmed_and_stopwords_dropped() -> None:
    assert tokens("What are the Warranties on BIKES?", drop_stopwords=True) == ["warranti", "bike"]


def test_mixed_script_keeps_latin_words_and_codes() -> None:
    assert tokens("Tune Club E 按年付") == ["tune", "club", "e", "按年", "年付"]


def test_snowball_stems_bring_inflections_together() -> None:
    for forms in (
        ("code", "codes"),
        ("box", "boxes"),
        ("cycles", "cycling"),
        ("charging", "charged", "charges"),
        ("warranty", "warranties"),
    ):
        assert len({stem(w) for w in forms}) == 1, forms
    assert stem("status") == "status" and stem("W41") == "W41" and stem("电池") == "电池"


def test_detect_lang() -> None:
    assert detect_lang("电池从没电到充满要多长时间？") == "zh"
    assert detect_lang("Tune Club E 按年付多少钱？") == "zh"
    assert detect_lang("how long is the warranty?") == "en"


def test_split_units_keeps_list_items_whole_and_splits_sentences() -> None:
    text = (
        "Intro one. Intro two costs £4.50 now.\n- **W41: Sensor.** Hold it. Then wait.\n"
        "电池不能寄送。请提交。"
    )
    assert split_units(text) == [
        "Intro one.",
        "Intro two costs £4.50 now.",
        "**W41: Sensor.** Hold it. Then wait.",
        "电池不能寄送。",
        "请提交。",
    ]


def test_numbers_and_codes() -> None:
    assert numbers_and_codes("W41 costs £4,500 at 7:30") >= {"w41", "4500", "7:30"}


def test_ungrounded_facts_flags_only_new_numbers_and_codes() -> None:
    sources = "Open 09:30 to 17:30. Code W41 means calibration; 2 years or 700 cycles."
    assert ungrounded_facts("Opens at 09:30, code W41, 700 cycles", sources) == set()
    assert ungrounded_facts("It weighs 9.2 kg; see W42", sources) == {"9.2", "w42", "42"}


def test_proper_nouns_are_words_written_capitalised_mid_sentence() -> None:
    names = proper_nouns(["Visit our Cardiff workshop.", "Cardiff opens early. The bike is ready."])
    assert "cardiff" in names
    assert "bike" not in names and "the" not in names
    # after a label or inside bold a capital says nothing: a step's verb is not a name
    labels = proper_nouns(["1. _(optional)_ Write a message.", "Open **Preferences** here."])
    assert "write" not in labels and "preferences" not in labels
