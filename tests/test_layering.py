"""The architecture's rules, checked on the source: who may import what."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_only_the_model_runner_touches_torch() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "engine").rglob("*.py")
        if "torch" in _imports(path) and path.parent.name not in ("model", "testing")
    ]
    assert offenders == []


def test_the_engine_never_imports_slack_code() -> None:
    forbidden = {"slack_bolt", "slack_sdk", "bot", "slackemu", "kb"}
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & forbidden)
        for path in (ROOT / "engine").rglob("*.py")
        if _imports(path) & forbidden
    }
    assert offenders == {}


def test_the_bot_reaches_the_model_only_through_the_engine() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "bot").rglob("*.py")
        if {"torch", "transformers"} & _imports(path)
    ]
    assert offenders == []


def test_only_the_settings_module_reads_the_environment() -> None:
    offenders = []
    for package in ("engine", "bot", "kb", "slackemu", "deskhand"):
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if ("os.environ" in text or "os.getenv" in text) and path.name != "settings.py":
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_no_peer_runs_inside_our_processes() -> None:
    """llama.cpp (and any other peer) runs as its own server process, never loaded into the
    test, bench or bot process: a crash of its native code must not take ours down."""
    peers = {"llama_cpp", "vllm", "sglang", "ctransformers", "gpt4all"}
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & peers)
        for package in ("engine", "bench", "bot", "kb", "slackemu", "deskhand", "store", "tests")
        for path in (ROOT / package).rglob("*.py")
        if _imports(path) & peers
    }
    assert offenders == {}
