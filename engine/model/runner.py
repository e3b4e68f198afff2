"""The model runner: the only code that runs the model (and, with its siblings, touches torch).

It owns the resident model, the slot KV cache and per-row sampling state, and offers three
token-level operations to the engine loop: `prefill` new rows, `decode` one step for every
row, and `remove` a finished row. Rows stay compact (0..n-1): removing a row moves the last
row into its place, and the caller mirrors that move in its own bookkeeping.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from engine.model.cuda_graphs import DecodeGraphs
from engine.model.kv_cache import SlotKVCache
from engine.model.sampling import RowSampler, sample_next
from engine.types import SamplingParams

CausalLM = Any  # a transformers causal LM (PreTrainedModel); nn.Module typing hides its attributes

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RunnerInfo:
    name: str
    device: str
    dtype: str
    parameters: int
    context_window: int
    max_rows: int


class ModelRunner:
    """Runs prefill and decode steps of a causal LM over a compact batch of rows."""

    def __init__(
        self,
        model: CausalLM,
        *,
        name: str,
        max_rows: int,
        context_window: int,
        threads: int | None = None,
        cuda_graphs: bool = True,
    ) -> None:
        self.model = model.eval()
        self.threads = threads
        config = model.config
        self.decoder = model.get_decoder()
        self.lm_head = model.get_output_embeddings()
        self.device = next(model.parameters()).device
        self.dtype = next(model.parameters()).dtype
        head_dim = (
            getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
        )
        kv_heads = getattr(config, "num_key_value_heads", None) or config.num_attention_heads
        self.context_window: int = min(context_window, int(config.max_position_embeddings))
        self.cache = SlotKVCache(
            config.num_hidden_layers,
            kv_heads,
            head_dim,
            max_rows=max_rows,
            max_columns=self.context_window,
            dtype=self.dtype,
            device=self.device,
        )
        # transformers renamed `past_key_values` to `cache` in 5.24; pass whichever it takes.
        params = inspect.signature(self.decoder.forward).parameters
        self._cache_kwarg = "cache" if "cache" in params else "past_key_values"
        self.lengths: list[int] = []  # tokens held in the cache, per row
        self.samplers: list[RowSampler] = []
        self.graphs: DecodeGraphs | None = None
        if cuda_graphs and self.device.type == "cuda":
            self.graphs = DecodeGraphs(
                self._decode_forward,
                max_rows=max_rows,
                max_columns=self.context_window,
                device=self.device,
            )
        self.info = RunnerInfo(
            name=name,
            device=str(self.device),
            dtype=str(self.dtype).removeprefix("torch."),
            parameters=sum(p.numel() for p in model.parameters()),
            context_window=self.context_window,
            max_rows=max_rows,
        )

    @property
    def num_rows(self) -> int:
        return len(self.lengths)

    @torch.no_grad()
    def prefill(
        self, prompts: Sequence[Sequence[int]], params: Sequence[SamplingParams]
    ) -> list[int | None]:
        """Append one row per prompt, fill its cache, and return each row's first token."""
        start, count = self.num_rows, len(prompts)
        self.cache.reserve(start + count, max(len(p) for p in prompts) + 1)
        logits = torch.empty(
            (count, self.lm_head.out_features), dtype=torch.float32, device=self.device
        )
        # Prompts of similar length share a forward, so little compute goes to padding.
        for bucket in length_buckets([len(p) for p in prompts]):
            rows = torch.tensor([start + i for i in bucket], device=self.device)
            logits[bucket] = self._prefill_rows(rows, [prompts[i] for i in bucket])
        new_samplers = [RowSampler(p, self.device) for p in params]
        self.lengths.extend(len(p) for p in prompts)
        self.samplers.extend(new_samplers)
        return sample_next(logits, new_samplers)

    def _prefill_rows(self, rows: torch.Tensor, prompts: list[Sequence[int]]) -> torch.Tensor:
        """One right-padded forward over `prompts`, writing cache `rows`; last-token logits."""
        count, width = len(prompts), max(len(p) for p in prompts)
        ids = torch.zeros((count, width), dtype=torch.long)
        valid = torch.zeros((count, width), dtype=torch.bool)
        for i, prompt in enumerate(prompts):
            ids[i, : len(prompt)] = torch.tensor(prompt, dtype=torch.long)
            valid[i, : len(prompt)] = True
        ids, valid = ids.to(self.device), valid.to(self.device)
        # (count, 1, width, width): causal, and only this row's real (right-padded) tokens
        causal = torch.ones((width, width), dtype=torch.bool, device=self.device).tril()
        mask = (causal[None, :, :] & valid[:, None, :])[:, None]
        positions = torch.arange(width, device=self.device).expand(count, width)
        self.cache.prepare_prefill(rows)
        hidden = self.decoder(
            input_ids=ids,
            attention_mask=mask,
            position_ids=positions,
            use_cache=True,
            **{self._cache_kwarg: self.cache},
        ).last_hidden_state  # (count, width, hidden)
        last = torch.tensor([len(p) - 1 for p in prompts], device=self.device)
        return self.lm_head(hidden[torch.arange(count, device=self.device), last]).float()

    @torch.no_grad()
    def decode(self, last_tokens: Sequence[int]) -> list[int | None]:
        """Feed each row its last token; return each row's next token."""
        count = self.num_rows
        assert len(last_tokens) == count, "one token per running row"
        read = max(self.lengths) + 1
        if self.graphs is not None:
            self.cache.reserve(*self.graphs.bucket(count, read))
            logits = self.graphs.logits(last_tokens, self.lengths, self.cache.generation)
        else:
            self.cache.reserve(count, read)
            positions = torch.tensor(self.lengths, device=self.device)[:, None]  # (n, 1)
            readable = torch.arange(read, device=self.device)[None, :] <= positions  # (n, read)
            ids = torch.tensor(last_tokens, device=self.device)[:, None]
            logits = self._decode_forward(ids, positions, readable[:, None, None, :], count, read)
        self.lengths = [n + 1 for n in self.lengths]
        return sample_next(logits, self.samplers)

    def _decode_forward(
        self, ids: torch.Tensor, positions: torch.Tensor, mask: torch.Tensor, rows: int, read: int
    ) -> torch.Tensor:
        """One token per row at its own position; (rows, vocab) float logits."""
        self.cache.prepare_decode(rows, positions[:, 0], read)
        hidden = self.decoder(
            input_ids=ids,
            attention_mask=mask,
            position_ids=positions,
            use_cache=True,
            **{self._cache_kwarg: self.cache},
        ).last_hidden_state  # (rows, 1, hidden)
        return self.lm_head(hidden[:, 0]).float()

    def remove(self, row: int) -> None:
        """Drop a row; the last row moves into its place (the caller mirrors this)."""
        last = self.num_rows - 1
        if row != last:
            self.cache.move_row(last, row, self.lengths[last])
            self.lengths[row] = self.lengths[last]
            self.samplers[row] = self.samplers[last]
        self.lengths.pop()
        self.samplers.pop()

    def clear(self) -> None:
        self.lengths.clear()
        self.samplers.clear()

    def row_length(self, row: int) -> int:
        return self.lengths[row]

    def bind_thread(self) -> None:
        """Called once on the engine thread: torch's thread settings are per thread."""
        if self.threads and self.device.type == "cpu":
            torch.set_num_threads(self.threads)

    def synchronize(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)


def length_buckets(lengths: Sequence[int], slack: float = 1.25) -> list[list[int]]:
    """Group indices by length so each group's padded size is at most `slack` x its real size."""
    buckets: list[list[int]] = []
    current: list[int] = []
    total = 0
    for i in sorted(range(len(lengths)), key=lambda i: lengths[i]):
        width = lengths[i]  # ascending, so the new maximum
        if current and width * (len(current) + 1) > slack * (total + width):
            buckets.append(current)
            current, total = [], 0
        current.append(i)
        total += width
    if current:
        buckets.append(current)
    return buckets
