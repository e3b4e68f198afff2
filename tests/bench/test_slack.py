"""`deskhand bench slack` end to end, small: a burst through the emulator, every mention
answered exactly once (the full 200-mention run is the benchmark itself)."""

from __future__ import annotations

import json

import pytest

from bench.slack import main, percentile


def test_percentile() -> None:
    assert percentile([], 99) == 0.0
    assert percentile([5.0], 50) == 5.0
    assert percentile([float(i) for i in range(1, 101)], 50) == pytest.approx(50.5)


@pytest.mark.slow
def test_a_small_burst_is_acked_and_answered_once(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "--json",
            "--mentions",
            "20",
            "--users",
            "4",
            "--channels",
            "2",
            "--max-new-tokens",
            "4",
            "--timeout",
            "120",
        ]
    )
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["events"] == 20 and result["deliveries"] == 40
    assert result["acked_within_3s"] == 20
    assert result["answered_once"] == 20
    assert result["duplicates"] == 0 and result["unanswered"] == 0
    assert result["contract_violations"] == 0
    assert code in (0, 1)  # 1 only if this machine was too loaded for the 100 ms bar


@pytest.mark.slow
def test_two_replicas_survive_a_kill_9_mid_burst(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["--json", "--replicas", "2", "--mentions", "30", "--users", "5", "--channels", "3",
         "--max-new-tokens", "4", "--lease", "2", "--timeout", "180"]
    )  # fmt: skip
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (result["replicas"], result["restarts"]) == (2, 1)
    assert result["duplicates"] == 0 and result["unanswered"] == 0
    assert result["answered_once"] == 30 and result["restarts_survived"] == 1
    assert result["finished"] and code == 0
