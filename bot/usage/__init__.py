"""Usage and cost: rows in (the usage log, the meter), summaries out (summary, prices,
budgets, views, the App Home and `/ask usage` report, the `deskhand usage` command)."""
