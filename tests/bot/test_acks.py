"""A private answer waits until the slash command's ack (its "Thinking…") has gone out."""

from __future__ import annotations

import threading

from bot.slack.acks import AckReceipts


def test_over_socket_mode_the_ack_counts_as_sent_only_when_the_transport_says_so() -> None:
    receipts = AckReceipts()
    receipts.confirmed_by_transport = True
    sent = threading.Event()
    receipts.watch("T1", sent)
    receipts.acked("T1", sent)  # the listener acked: not on the wire yet
    assert not sent.is_set()
    receipts.sent({"trigger_id": "T2"})  # someone else's ack
    assert not sent.is_set()
    receipts.sent({"trigger_id": "T1"})
    assert sent.is_set()


def test_without_a_reporting_transport_the_ack_is_sent_when_made() -> None:
    receipts = AckReceipts()  # HTTP mode: the ack is the response to the request
    sent = threading.Event()
    receipts.watch("T1", sent)
    assert not sent.is_set()
    receipts.acked("T1", sent)
    assert sent.is_set()
