"""CUDA graphs for decode steps: one recorded kernel sequence per (rows, columns) bucket.

A decode step of a small model is a few hundred tiny kernels, so on a GPU its time goes to
launching them from Python, not to computing. Each step is therefore padded to a bucket
(rows and readable cache columns rounded up to powers of two), and the first step of each
bucket is recorded as a CUDA graph that later steps replay with new inputs. Padding rows
use free cache slots and write only their column 0, which every new prompt overwrites.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

logger = logging.getLogger(__name__)

DecodeBody = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, int, int], torch.Tensor]


@dataclass
class _Graph:
    graph: torch.cuda.CUDAGraph
    ids: torch.Tensor  # (rows, 1) static input
    positions: torch.Tensor  # (rows, 1) static input
    logits: torch.Tensor  # (rows, vocab) static output


class DecodeGraphs:
    """Replays recorded decode steps; `body` is the runner's eager decode forward."""

    def __init__(
        self,
        body: DecodeBody,
        *,
        max_rows: int,
        max_columns: int,
        device: torch.device,
        min_columns: int = 128,
    ) -> None:
        self.body = body
        self.max_rows, self.max_columns = max_rows, max_columns
        self.device = device
        self.min_columns = min_columns
        self.graphs: dict[tuple[int, int], _Graph] = {}
        self.pool = torch.cuda.graph_pool_handle()
        self.cache_generation = -1

    def bucket(self, rows: int, columns: int) -> tuple[int, int]:
        return (
            min(_pow2(rows, 1), self.max_rows),
            min(_pow2(columns, self.min_columns), self.max_columns),
        )

    def logits(
        self, tokens: Sequence[int], lengths: Sequence[int], cache_generation: int
    ) -> torch.Tensor:
        """(n, vocab) logits for a decode step of n rows; the cache holds the bucket already."""
        if cache_generation != self.cache_generation:  # buffers were reallocated: re-record
            self.graphs.clear()
            self.pool = torch.cuda.graph_pool_handle()  # the old pool died with its graphs
            self.cache_generation = cache_generation
        n = len(tokens)
        key = self.bucket(n, max(lengths) + 1)
        ids = torch.zeros((key[0], 1), dtype=torch.long)
        positions = torch.zeros((key[0], 1), dtype=torch.long)
        ids[:n, 0] = torch.tensor(tokens, dtype=torch.long)
        positions[:n, 0] = torch.tensor(lengths, dtype=torch.long)
        graph = self.graphs.get(key)
        if graph is None:
            graph = self._record(key, ids.to(self.device), positions.to(self.device))
            self.graphs[key] = graph
        else:
            graph.ids.copy_(ids, non_blocking=True)
            graph.positions.copy_(positions, non_blocking=True)
        graph.graph.replay()
        return graph.logits[:n]

    def _record(self, key: tuple[int, int], ids: torch.Tensor, positions: torch.Tensor) -> _Graph:
        rows, columns = key
        logger.debug("recording a decode graph for %d rows x %d columns", rows, columns)
        # Warm up on a side stream (allocator and kernel selection), then record. Both
        # write the same keys/values the replay will, so running them is harmless.
        stream = torch.cuda.Stream(self.device)
        stream.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(stream):
            self.body(ids, positions, self._mask(positions, columns), rows, columns)
        torch.cuda.current_stream(self.device).wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, pool=self.pool):
            logits = self.body(ids, positions, self._mask(positions, columns), rows, columns)
        return _Graph(graph, ids, positions, logits)

    def _mask(self, positions: torch.Tensor, columns: int) -> torch.Tensor:
        # (rows, 1, 1, columns): each row reads its own columns, padding rows column 0 only
        readable = torch.arange(columns, device=self.device)[None, :] <= positions
        return readable[:, None, None, :]


def _pow2(value: int, floor: int) -> int:
    size = floor
    while size < value:
        size *= 2
    return size
