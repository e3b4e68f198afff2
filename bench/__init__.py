"""`deskhand bench …`: the benchmarks, outside the runtime. Only `deskhand/cli.py` and the
tests import this package; nothing in `bot/`, `kb/` or `engine/` does."""
