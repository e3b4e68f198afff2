"""The feedback store and the gaps report, on both store backends."""

from pathlib import Path

import pytest

from kb.feedback import AnswerRecord, FeedbackStore, question_key
from store import Store


def _record(question: str, abstained: bool) -> AnswerRecord:
    return AnswerRecord(
        question,
        question,
        "en",
        "abstain" if abstained else "answer",
        abstained,
        "text",
        [{"doc": "a.md", "title": "A", "heading": "H", "score": 0.1}],
        "smollm2",
        1.25,
    )


def test_votes_are_upserted_per_user_and_validated(store_url: str) -> None:
    store = FeedbackStore(Store.open(store_url))
    answer_id = store.add_answer(_record("How long?", False))
    store.add_vote(answer_id, 1, "U1")
    store.add_vote(answer_id, -1, "U1")  # changed their mind
    store.add_vote(answer_id, -1, "U2")
    answer = store.answer(answer_id)
    assert answer is not None
    assert sorted(v["vote"] for v in answer["votes"]) == [-1, -1]
    with pytest.raises(ValueError):
        store.add_vote(answer_id, 0, "U3")
    with pytest.raises(KeyError):
        store.add_vote(999, 1, "U3")
    store.store.close()


def test_gaps_rank_unanswered_and_down_voted_questions(store_url: str) -> None:
    store = FeedbackStore(Store.open(store_url))
    for _ in range(3):
        store.add_answer(_record("Do you ship to France?", True))
    store.add_answer(_record("do you ship to france", True))  # same question, other spelling
    voted = store.add_answer(_record("What is the fee?", False))
    store.add_vote(voted, -1, "U1")
    store.add_answer(_record("All good?", False))
    rows = store.gaps()
    assert [(r.question, r.asked, r.unanswered, r.down_votes) for r in rows] == [
        ("do you ship to france", 4, 4, 0),
        ("What is the fee?", 1, 0, 1),
    ]
    assert rows[0].top_docs == ["a.md"]
    assert question_key("Do you ship to France?!") == "do you ship to france"
    store.store.close()


def test_a_path_opens_a_sqlite_file_of_its_own(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "feedback.sqlite")
    answer_id = store.add_answer(_record("Where?", True))
    store.close()
    again = FeedbackStore(tmp_path / "feedback.sqlite")
    assert [r.question for r in again.gaps()] == ["Where?"]
    assert again.answer(answer_id) is not None
    again.close()


def test_a_broken_feedback_store_costs_no_answer(tmp_path: Path, caplog) -> None:
    """Review item 6: the answer is recorded with id 0 and a log line, never raised."""
    store = Store.open(f"sqlite:///{tmp_path / 'deskhand.sqlite'}")
    feedback = FeedbackStore(store)
    with store.begin() as conn:
        conn.exec_driver_sql("DROP TABLE feedback_votes")
        conn.exec_driver_sql("DROP TABLE feedback_answers")  # any database fault will do
    assert feedback.add_answer(_record("Where?", False)) == 0
    assert "could not record the answer for feedback" in caplog.text
    store.close()
