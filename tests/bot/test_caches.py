"""Bounded in-memory state: the pacer forgets buckets once they have refilled and holds at most
MAX_CHANNELS; ShareBox answers expire and are taken once."""

from __future__ import annotations

from bot.slack import pacing
from bot.slack.ephemeral_reply import ShareBox, SharedAnswer
from bot.slack.pacing import ChannelPacer
from bot.types import FinalReply


def test_pacer_forgets_refilled_buckets_and_stays_bounded(monkeypatch) -> None:
    now = [0.0]
    pacer = ChannelPacer(per_second=1.0, burst=3, clock=lambda: now[0])
    for i in range(5_000):
        pacer.reserve(f"C{i}")
        pacer.reserve(f"C{i}")  # one token left, full again at 2.0
    assert pacer.tracked() == 5_000
    now[0] = 1.5  # not full yet
    assert pacer.tracked() == 5_000
    now[0] = 3.0  # refilled: indistinguishable from new buckets, so gone
    assert pacer.tracked() == 0
    assert [pacer.reserve("C1") for _ in range(4)] == [0.0, 0.0, 0.0, 1.0]
    # a channel in debt is remembered until its debt is paid and the bucket is full
    now[0] = 5.5
    assert pacer.tracked() == 1
    now[0] = 7.0
    assert pacer.tracked() == 0

    monkeypatch.setattr(pacing, "MAX_CHANNELS", 100)
    small = ChannelPacer(clock=lambda: now[0])
    for i in range(1_000):
        small.reserve(f"D{i}")
    assert small.tracked() == 100


def test_share_box_expires_and_hands_out_each_answer_once() -> None:
    now = [0.0]
    box = ShareBox(ttl_s=60, max_items=10, clock=lambda: now[0])
    answer = SharedAnswer("q", "U1", "C1", FinalReply(text="a"))
    first, second = box.put(answer), box.put(answer)
    assert box.take(first) == answer and box.take(first) is None
    now[0] = 61.0
    assert box.take(second) is None
    ids = [box.put(answer) for _ in range(50)]
    assert box.take(ids[0]) is None and box.take(ids[-1]) == answer
