"""Binding channels to knowledge sets."""

from pathlib import Path

import pytest

from kb.channels import ChannelSetsError, parse_channel_sets, sets_for_channel


def test_inline_bindings_and_defaults() -> None:
    bindings = parse_channel_sets("C123=billing, C456=hardware+returns")
    assert bindings == {"C123": frozenset({"billing"}), "C456": frozenset({"hardware", "returns"})}
    assert sets_for_channel("C456", bindings, "") == frozenset({"hardware", "returns"})
    assert sets_for_channel("D999", bindings, "") is None  # DMs: every set
    assert sets_for_channel(None, bindings, "default") == frozenset({"default"})


def test_bindings_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "channels.conf"
    path.write_text("# support channels\nC123 = billing\n\nC456=hardware  # bikes\n")
    assert parse_channel_sets(str(path)) == {
        "C123": frozenset({"billing"}),
        "C456": frozenset({"hardware"}),
    }


@pytest.mark.parametrize("spec", ["C123=", "=billing", "missing-file.conf"])
def test_bad_bindings_are_rejected(spec: str) -> None:
    with pytest.raises(ChannelSetsError):
        parse_channel_sets(spec)
