"""Slack's machine-readable specs, vendored under `specs/`: method docs (args, errors, scopes),
recorded response and event shapes, common errors. Read-only lookups plus the key-set comparison
used to keep the emulator's output within what Slack has been seen to send.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SPECS_DIR = Path(__file__).with_name("specs")
METHOD_DOCS_DIR = SPECS_DIR / "slack_kit-method-docs"
RECORDED_DIR = SPECS_DIR / "java-slack-sdk-json-logs"

# Values we echo from the caller (or generate as rich text) and so do not compare key by key.
# A view's `state` holds the values of the caller's own inputs, keyed by their block ids.
OPAQUE_KEYS = frozenset({"blocks", "attachments", "event_payload", "files", "chunks", "state"})

CHANNEL_SCOPE_PREFIX = {"channel": "channels", "group": "groups", "im": "im", "mpim": "mpim"}


@cache
def method_doc(method: str) -> dict[str, Any] | None:
    path = METHOD_DOCS_DIR / f"{method}.json"
    if method == "common_errors" or not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def documented_methods() -> frozenset[str]:
    return frozenset(p.stem for p in METHOD_DOCS_DIR.glob("*.json") if p.stem != "common_errors")


@cache
def common_errors() -> frozenset[str]:
    return frozenset(json.loads((METHOD_DOCS_DIR / "common_errors.json").read_text()))


def documented_errors(method: str) -> frozenset[str]:
    doc = method_doc(method) or {}
    return frozenset(doc.get("errors", {})) | common_errors()


def documented_args(method: str) -> frozenset[str]:
    return frozenset((method_doc(method) or {}).get("args", {}))


def required_args(method: str) -> list[str]:
    doc = method_doc(method) or {}
    return [name for name, spec in doc.get("args", {}).items() if spec.get("required")]


def bot_scopes(method: str, channel_kind: str | None = None) -> list[str]:
    """Scopes that let a bot token call `method` (any one suffices).

    Conversation methods list one scope per conversation type (channels:history,
    im:history, ...); given the conversation's kind, only the matching one counts.
    """
    doc = method_doc(method) or {}
    scopes = [s["name"] for s in doc.get("scopes", {}).get("bot", [])]
    typed = [s for s in scopes if s.split(":")[0] in CHANNEL_SCOPE_PREFIX.values()]
    if typed and channel_kind in CHANNEL_SCOPE_PREFIX:
        prefix = CHANNEL_SCOPE_PREFIX[channel_kind] + ":"
        return [s for s in typed if s.startswith(prefix)] or scopes
    return scopes + EXTRA_ACCEPTED_SCOPES.get(method, [])


# setStatus accepted assistant:write before the 2026-03-05 change to chat:write (both work).
EXTRA_ACCEPTED_SCOPES = {"assistant.threads.setStatus": ["assistant:write"]}


@cache
def recorded_response(method: str) -> dict[str, Any] | None:
    path = RECORDED_DIR / "api" / f"{method}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


@cache
def recorded_event(name: str) -> dict[str, Any]:
    """A recorded event payload by file stem, e.g. `MessagePayload`."""
    return json.loads((RECORDED_DIR / "events" / f"{name}.json").read_text(encoding="utf-8"))


@cache
def recorded_event_wrapper_keys() -> frozenset[str]:
    keys: set[str] = set()
    for path in (RECORDED_DIR / "events").glob("*.json"):
        keys |= set(json.loads(path.read_text(encoding="utf-8")))
    return frozenset(keys)


@cache
def recorded_slash_command_keys() -> frozenset[str]:
    path = RECORDED_DIR / "app-backend" / "SlashCommandPayload.json"
    return frozenset(json.loads(path.read_text(encoding="utf-8")))


_MERGED: dict[int, tuple[list[Any], Any]] = {}  # id(recorded list) -> (the list, its shape)


def merged_shape(values: list[Any]) -> Any:
    """One shape covering every element of a recorded list (dict keys are unioned).

    Recorded lists live as long as the cached specs, so shapes are memoised by identity
    (merging conversations.replies' recorded messages took ~100 ms per call)."""
    hit = _MERGED.get(id(values))
    if hit is not None and hit[0] is values:
        return hit[1]
    shape = _merge_shape(values)
    _MERGED[id(values)] = (values, shape)
    return shape


def _merge_shape(values: list[Any]) -> Any:
    dicts = [v for v in values if isinstance(v, dict)]
    if not dicts:
        return values[0] if values else None
    merged: dict[str, list[Any]] = {}
    for d in dicts:
        for key, value in d.items():
            merged.setdefault(key, []).append(value)
    return {key: _merge_values(vals) for key, vals in merged.items()}


def _merge_values(values: list[Any]) -> Any:
    if all(isinstance(v, list) for v in values):
        return [_merge_shape([item for v in values for item in v])]
    if any(isinstance(v, dict) for v in values):
        return _merge_shape([v for v in values if isinstance(v, dict)])
    return values[0]


def unrecorded_keys(actual: Any, recorded: Any, path: str = "") -> list[str]:
    """Paths of keys in `actual` that the recorded shape never shows (recursively)."""
    problems: list[str] = []
    if isinstance(actual, dict) and isinstance(recorded, dict):
        for key, value in actual.items():
            where = f"{path}.{key}" if path else key
            if key not in recorded:
                problems.append(where)
            elif key not in OPAQUE_KEYS:
                problems += unrecorded_keys(value, recorded[key], where)
    elif isinstance(actual, list) and isinstance(recorded, list) and recorded:
        shape = merged_shape(recorded)
        for item in actual:
            problems += unrecorded_keys(item, shape, f"{path}[]")
    return problems


def project(actual: dict[str, Any], recorded: dict[str, Any]) -> dict[str, Any]:
    """`actual` without the top-level keys the recorded shape lacks (used for message objects,
    whose key set differs between methods)."""
    return {k: v for k, v in actual.items() if k in recorded}
