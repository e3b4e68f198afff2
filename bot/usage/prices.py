"""The price table: hosted APIs' list prices per 1M tokens, read from the dated, sourced
`prices.toml` beside this file (never fetched), and what a set of answers would cost there."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

PRICES_FILE = Path(__file__).with_name("prices.toml")


@dataclass(frozen=True, slots=True)
class ApiPrice:
    name: str
    input_per_1m: float  # USD
    output_per_1m: float  # USD
    listed: date
    source: str

    def cost(self, prompt_tokens: int, output_tokens: int) -> float:
        """USD for these tokens at this API's list price."""
        return (prompt_tokens * self.input_per_1m + output_tokens * self.output_per_1m) / 1e6


class PriceTableError(ValueError):
    """prices.toml is malformed; the message names the row and the field."""


@cache
def api_prices(path: Path = PRICES_FILE) -> tuple[ApiPrice, ...]:
    """Every row of the table, in file order."""
    rows = tomllib.loads(path.read_text(encoding="utf-8")).get("api", [])
    prices = []
    for i, row in enumerate(rows):
        try:
            prices.append(
                ApiPrice(
                    name=str(row["name"]),
                    input_per_1m=float(row["input_per_1m"]),
                    output_per_1m=float(row["output_per_1m"]),
                    listed=date.fromisoformat(str(row["listed"])),
                    source=str(row["source"]),
                )
            )
        except (KeyError, ValueError, TypeError) as err:
            raise PriceTableError(f"{path.name}: row {i + 1} ({row.get('name')}): {err}") from None
    return tuple(prices)


def api_equivalent_per_1k(
    prompt_tokens: int, output_tokens: int, answers: int, prices: tuple[ApiPrice, ...]
) -> dict[str, float]:
    """USD per 1,000 answers on each API for the same tokens (empty without answers)."""
    if answers <= 0:
        return {}
    return {p.name: p.cost(prompt_tokens, output_tokens) / answers * 1000 for p in prices}
