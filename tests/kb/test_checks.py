"""Answer-type and entity-consistency checks."""

from kb.checks import entities_consistent, expected_types, has_answer_type


def test_expected_types_from_question_cues() -> None:
    assert expected_types("how much is a replacement battery?") == {"price"}
    assert expected_types("how much does the bike weigh?") == {"weight"}
    assert expected_types("how long does the reset link stay valid") == {"duration"}
    assert expected_types("how many charge cycles are covered") == {"count"}
    assert expected_types("what time does the workshop open?") == {"time_of_day"}
    assert expected_types("Tune Club E 按年付多少钱？") == {"price"}
    assert expected_types("does the warranty cover crashes?") == set()
    assert expected_types("whats the biggest file i can uplaod on the free plan") == {"size"}
    assert expected_types("what's the max number of members one channel can have?") == {"count"}


def test_has_answer_type() -> None:
    assert has_answer_type("Bike delivery costs £27.", {"price"})
    assert not has_answer_type("A 7.5% restocking fee applies.", {"price"})
    assert has_answer_type("从电量耗尽到充满约需 4.5 小时。", {"duration"})
    assert has_answer_type("We check it within 4 working days and then refund.", {"duration"})
    assert has_answer_type("Allow ten business days.", {"duration"})
    assert not has_answer_type("We check it on the next working day.", {"duration"})
    assert not has_answer_type("Check the tyre pressure: 3.5 to 4.5 bar.", {"speed"})
    assert has_answer_type("anything at all", set())
    assert has_answer_type("Each uploaded file can be up to 10 MB.", {"size"})
    assert not has_answer_type("Free plans include 5 file uploads a day.", {"size"})


NAMES = {"cragfell", "gx", "pebblewren", "e5", "skylark", "p2"}.__contains__


def test_evidence_about_another_named_thing_is_inconsistent() -> None:
    assert not entities_consistent(
        "how much does the cragfell gx weigh?",
        "The maximum total weight is 140 kg.",
        "Pebblewren E5 electric commuter",
        "Sizes: Cragfell GX and Pebblewren E5",
        NAMES,
        lambda t: True,
    )


def test_evidence_naming_the_thing_or_under_a_neutral_heading_is_consistent() -> None:
    assert entities_consistent(
        "pebblewren battery warranty?",
        "Pebblewren E5 battery: 2 years.",
        "Coverage",
        "Warranty",
        NAMES,
        lambda t: True,
    )
    assert entities_consistent(
        "how high should the Skylark P2 go?",
        "Mount it 1.5 metres up.",
        "Mounting",
        "Installing the Skylark P2",
        NAMES,
        lambda t: True,
    )


def test_a_name_the_kb_never_mentions_is_inconsistent() -> None:
    assert not entities_consistent(
        "does it work with HomeKit?",
        "It works with boilers.",
        "Compatibility",
        "Install",
        NAMES,
        lambda t: t != "homekit",
    )
