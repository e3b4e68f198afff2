"""`deskhand bench cost` end to end, small: a mixed burst (knowledge-base and general questions)
through the bot and the emulator on the tiny model; the printed costs follow from the
measured engine time and the recorded tokens."""

from __future__ import annotations

import json

import pytest

from bench.cost import main
from bot.usage.prices import api_prices


@pytest.mark.slow
def test_a_small_mixed_burst_prints_its_cost(capsys: pytest.CaptureFixture[str]) -> None:
    args = "--json --model tiny --price-per-hour 3.6 --currency USD --kb-questions 3"
    code = main([*args.split(), "--general", "3", "--max-new-tokens", "8", "--timeout", "300"])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0, result
    assert (result["questions"], result["kb_questions"], result["general_questions"]) == (6, 3, 3)
    assert result["answers"] == 6 and result["finished"] and result["contract_violations"] == 0
    assert result["engine"]["answerer"] == "kb"
    busy = result["engine_busy_s"]
    assert 0 < busy <= result["wall_s"]
    # $3.60 an hour is $0.001 per engine-second. The report rounds busy time to the
    # millisecond and the cost to six places, each from the unrounded busy time.
    per_second_per_1k = 0.001 / 6 * 1000
    assert result["cost_per_1k_answers"] == pytest.approx(
        busy * per_second_per_1k, abs=0.0005 * per_second_per_1k + 1e-6
    )
    cheapest = api_prices()[0]
    expected = cheapest.cost(result["prompt_tokens"], result["output_tokens"]) / 6 * 1000
    assert result["api_equivalent_per_1k"][cheapest.name] == pytest.approx(expected, abs=1e-4)
