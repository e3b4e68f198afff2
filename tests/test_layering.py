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


# --- the import graph ----------------------------------------------------------------------

PACKAGES = ("bench", "bot", "deskhand", "engine", "kb", "slackemu", "store")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


def _imported_modules(name: str, path: Path) -> set[str]:
    """Our modules that `name` imports, anywhere in it (also inside functions and
    TYPE_CHECKING blocks): `from a.b import c` is a.b.c when that is a module, else a.b."""
    found: set[str] = set()
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in MODULES)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            for alias in node.names:
                if f"{module}.{alias.name}" in MODULES:
                    found.add(f"{module}.{alias.name}")
                elif module in MODULES:
                    found.add(module)
    found.discard(name)
    return found


GRAPH = {name: _imported_modules(name, path) for name, path in MODULES.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _importers(prefix: str) -> dict[str, list[str]]:
    return {
        name: sorted(t for t in targets if t == prefix or t.startswith(prefix + "."))
        for name, targets in GRAPH.items()
        if any(t == prefix or t.startswith(prefix + ".") for t in targets)
    }


def test_the_graph_sees_imports_inside_functions_and_from_packages() -> None:
    assert "bench.cost" in GRAPH["deskhand.cli"]  # a lazy import inside a function
    assert "engine" in GRAPH["bot.errors"]  # `from engine import EngineDead`
    assert "bot.answer.pipeline" in GRAPH["bot.answer.admission"]


def test_no_import_cycles_between_modules() -> None:
    assert _cycles(GRAPH) == []


def test_only_the_cli_and_the_tests_import_the_benchmarks() -> None:
    outside = {
        name: targets
        for name, targets in _importers("bench").items()
        if not name.startswith("bench") and name != "deskhand.cli"
    }
    assert outside == {}


def test_the_bot_imports_the_engine_only_from_its_package_root() -> None:
    offenders = {
        name: [t for t in targets if t != "engine"]
        for name, targets in _importers("engine").items()
        if name.startswith("bot") and any(t != "engine" for t in targets)
    }
    assert offenders == {}


def test_nothing_below_the_app_imports_it() -> None:
    """`deskhand/` is the app: settings, CLI, logging. The packages it composes take typed
    configs from it and never import it back (the benchmarks are CLI programs too)."""
    offenders = {
        name: targets
        for name, targets in _importers("deskhand").items()
        if name.split(".")[0] in ("bot", "engine", "kb", "slackemu", "store")
    }
    assert offenders == {}


def test_no_peer_runs_inside_our_processes() -> None:
    """llama.cpp (and any other peer) runs as its own server process, never loaded into the
    test, bench or bot process: a crash of its native code must not take ours down."""
    peers = {"llama_cpp", "vllm", "sglang", "ctransformers", "gpt4all"}
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & peers)
        for package in (*PACKAGES, "tests")
        for path in (ROOT / package).rglob("*.py")
        if _imports(path) & peers
    }
    assert offenders == {}
