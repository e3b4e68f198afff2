"""The feedback store and the gaps report."""

import pytest

from kb.feedback import AnswerRecord, FeedbackStore, question_key


def _record(question: str, abstained: bool) -> AnswerRecord:
    return AnswerRecord(question, question, "en", "abstain" if abstained else "answer", abstained,
                        "text", [{"doc": "a.md", "title": "A", "heading": "H", "score": 0.1}],
                        "smollm2", 1.25)


def test_votes_are_upserted_per_user_and_validated() -> None:
    store = FeedbackStore(":memory:")
    answer_id = store.add_answer(_record("How long?", False))
    store.add_vote(answer_id, 1, "U1")
    store.add_vote(answer_id, -1, "U1")  # changed their mind
    store.add_vote(answer_id, -1, "U2")
    assert sorted(v["vote"] for v in store.answer(answer_id)["votes"]) == [-1, -1]
    with pytest.raises(ValueError):
        store.add_vote(answer_id, 0, "U3")
    with pytest.raises(KeyError):
        store.add_vote(999, 1, "U3")


def test_gaps_rank_unanswered_and_down_voted_questions() -> None:
    store = FeedbackStore(":memory:")
    for _ in range(3):
        store.add_answer(_record("Do you ship to France?", True))
    store.add_answer(_record("do you ship to france", True))  # same question, other spelling
    voted = store.add_answer(_record("What is the fee?", False))
    store.add_vote(voted, -1, "U1")
    store.add_answer(_record("All good?", False))
    rows = store.gaps()
    assert [(r.question, r.asked, r.unanswered, r.down_votes) for r in rows] == [
        ("do you ship to france", 4, 4, 0), ("What is the fee?", 1, 0, 1)]
    assert rows[0].top_docs == ["a.md"]
    assert question_key("Do you ship to France?!") == "do you ship to france"
