"""`kb eval`, `kb ingest` and `kb report` through the CLI entry point."""

import json
from pathlib import Path

import pytest

import kb.cli
from deskhand.cli import kb_cli_config
from engine.testing import make_tiny_engine
from kb.cli import main
from kb.evaluate import ItemResult, match_text, summarize

from .conftest import HELDOUT, make_settings

PICK = {"ho-001", "ho-005", "ho-012", "ho-013", "ho-015", "ho-019", "ho-022", "ho-023", "ho-030"}


def _result(kind: str, lang: str, answerable: bool, correct: bool, latency: float) -> ItemResult:
    return ItemResult(
        "x",
        kind,
        lang,
        answerable,
        ["a.md"],
        answerable or None,
        answerable or None,
        correct,
        "answer",
        False,
        latency,
        "",
    )


def test_match_text_is_the_scorers_normal_form() -> None:
    assert match_text("**Lifetime**  warranty_`x`\nＡＢＣ") == "lifetime warrantyx abc"


def test_summary_figures_and_breakdowns() -> None:
    results = [
        _result("single", "en", True, True, 1.0),
        _result("single", "zh", True, False, 3.0),
        _result("unanswerable", "en", False, True, 2.0),
    ]
    s = summarize(results)
    assert (s["hit@1"], s["answer_accuracy"], s["abstain_accuracy"]) == (1.0, 0.5, 1.0)
    assert s["by_lang"]["zh"]["answer_accuracy"] == 0.0
    assert s["by_kind"]["unanswerable"]["abstain_n"] == 1
    assert s["latency_s"] == {"p50": 2.0, "p95": 2.9, "mean": 2.0}


def test_eval_json_runs_the_bot_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = (HELDOUT / "questions.jsonl").read_text().splitlines()
    questions = tmp_path / "q.jsonl"
    questions.write_text("\n".join(x for x in lines if json.loads(x)["id"] in PICK) + "\n")
    monkeypatch.setattr(kb.cli, "_start_engine", lambda s: make_tiny_engine(context_window=2048))
    settings = make_settings(tmp_path)
    assert (
        main(
            ["eval", str(questions), "--kb", str(HELDOUT / "kb"), "--json"], kb_cli_config(settings)
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["n"] == 9 and out["hit@3"] == 1.0
    assert out["answer_accuracy"] == 1.0 and out["abstain_accuracy"] == 1.0
    assert out["off_topic_accuracy"] == 1.0 and out["off_topic_n"] == 2
    assert out["routes"] == {"kb": 7, "assistant": 1, "smalltalk": 1}
    assert set(out["by_kind"]) == {
        "single",
        "paraphrase",
        "multi-turn",
        "unanswerable",
        "off_topic",
    }
    assert set(out["by_lang"]) == {"en", "zh"}
    assert {"p50", "p95", "mean"} == set(out["latency_s"])
    assert not settings.kb_feedback_db.exists()  # eval never writes the bot's feedback


def test_ingest_and_report_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = make_settings(tmp_path)
    assert main(["ingest", str(HELDOUT / "kb")], kb_cli_config(settings)) == 0
    assert "8 added" in capsys.readouterr().out and settings.kb_index.exists()
    assert main(["report"], kb_cli_config(settings)) == 0
    assert "No unanswered" in capsys.readouterr().out


@pytest.mark.slow
def test_eval_with_the_default_model_on_the_held_out_fixture(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(tmp_path)
    code = main(
        ["eval", str(HELDOUT / "questions.jsonl"), "--kb", str(HELDOUT / "kb"), "--json"],
        kb_cli_config(settings),
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["hit@3"] >= 0.9
    assert out["answer_accuracy"] >= 0.7
    assert out["abstain_accuracy"] >= 0.7
    assert out["off_topic_accuracy"] >= 0.9
