"""The channel_modes table on both backends, and kb.route.ChannelModes layered over it:
CHANNEL_MODES is the base, admins' rows win, a write goes through, a new handle (a restart,
another replica) sees it."""

from __future__ import annotations

import time

import pytest

import kb.route
from kb.route import ChannelModes, ChannelModesError
from store import Store
from store.channel_modes import ChannelModeBook
from tests.helpers import wait_until


def test_the_book_keeps_the_last_choice_per_channel(store_url: str) -> None:
    store = Store.open(store_url)
    book = ChannelModeBook(store)
    assert book.all() == {}
    book.put("C1", "kb", "U1")
    book.put("C1", "assistant", "U2")
    book.put("dm", "kb", "U1")
    rows = book.all()
    assert {k: (v.mode, v.set_by) for k, v in rows.items()} == {
        "C1": ("assistant", "U2"),
        "dm": ("kb", "U1"),
    }
    assert rows["C1"].set_at <= time.time()
    store.close()


def test_modes_write_through_and_survive_a_new_store_handle(store_url: str) -> None:
    store = Store.open(store_url)
    modes = ChannelModes.parse("C1=kb,default=auto")
    modes.attach(ChannelModeBook(store))
    assert modes.get("C1") == "kb" and modes.get("C2") == "auto" and modes.get("D9") == "auto"
    modes.set("C1", "assistant", set_by="U1")
    modes.set("dm", "kb", set_by="U1")
    assert modes.get("C1") == "assistant" and modes.get("D9") == "kb"
    with pytest.raises(ChannelModesError):
        modes.set("C1", "chatty", set_by="U1")
    store.close()

    reopened = Store.open(store_url)  # the bot restarted
    again = ChannelModes.parse("C1=kb")
    again.attach(ChannelModeBook(reopened))
    assert again.get("C1") == "assistant" and again.get("C2") == "auto"
    assert again.get(None, is_dm=True) == "kb"
    assert again.choices()["C1"].set_by == "U1"
    assert again.configured()["C1"] == "kb"  # the settings' base is unchanged
    reopened.close()


def test_another_replica_sees_a_change_within_the_cache_time(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kb.route, "MODES_CACHE_S", 0.2)
    store = Store.open(store_url)
    one, two = ChannelModes(), ChannelModes()
    one.attach(ChannelModeBook(store))
    two.attach(ChannelModeBook(store))
    assert two.get("C1") == "auto"  # read and cached
    one.set("C1", "kb", set_by="U1")
    assert one.get("C1") == "kb"  # the writer sees it at once
    wait_until(
        lambda: two.get("C1") == "kb",
        interval=0.05,
        message="the other replica never saw the change",
    )
    store.close()


def test_without_a_book_set_is_in_memory() -> None:
    modes = ChannelModes.parse("")
    modes.set("C1", "kb")
    assert modes.get("C1") == "kb" and modes.choices() == {}
