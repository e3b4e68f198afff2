"""Which knowledge sets a Slack channel searches.

Owns parsing `KB_CHANNEL_SETS`: either inline (`C123=billing,C456=hardware+returns`) or the
path of a small file with one `channel = set[+set...]` per line (`#` comments allowed).
DMs and unbound channels get the default set (`KB_DEFAULT_SET`; empty means every set).
"""

from __future__ import annotations

from pathlib import Path


class ChannelSetsError(ValueError):
    """KB_CHANNEL_SETS could not be read; the message says which entry and why."""


def parse_channel_sets(spec: str) -> dict[str, frozenset[str]]:
    """Channel id -> the knowledge sets it searches."""
    spec = spec.strip()
    if not spec:
        return {}
    if "=" not in spec:
        path = Path(spec).expanduser()
        if not path.is_file():
            raise ChannelSetsError(f"KB_CHANNEL_SETS: no such file {spec!r} (or use C123=set)")
        entries = [line.split("#", 1)[0] for line in path.read_text(encoding="utf-8").splitlines()]
    else:
        entries = spec.split(",")
    bindings: dict[str, frozenset[str]] = {}
    for entry in (e.strip() for e in entries):
        if not entry:
            continue
        channel, sep, sets = (part.strip() for part in entry.partition("="))
        names = frozenset(s.strip() for s in sets.split("+") if s.strip())
        if not sep or not channel or not names:
            raise ChannelSetsError(f"KB_CHANNEL_SETS: expected channel=set, got {entry!r}")
        bindings[channel] = names
    return bindings


def sets_for_channel(
    channel_id: str | None, bindings: dict[str, frozenset[str]], default_set: str
) -> frozenset[str] | None:
    """The sets to search; None means every set."""
    if channel_id and channel_id in bindings:
        return bindings[channel_id]
    return frozenset({default_set}) if default_set else None
