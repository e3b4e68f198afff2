"""A slot-based KV cache that transformers' attention layers write into.

Each running request owns one row ("slot") of a preallocated buffer per layer, shaped
(slots, kv_heads, columns, head_dim). Rows are kept compact (0..n-1) so a decode step
reads a plain view, never a gathered copy. Before each forward the runner says which rows
the forward covers and where each row writes; `update()` (called by every attention layer)
writes there and returns the keys/values that step must attend over. Buffers grow by
doubling, in rows and in columns, up to the configured limits; a growth seen coming (a long
prompt still being prefilled) is allocated a few buffers at a time beforehand (`grow_ahead`),
so no single step pays for zeroing the whole new cache.
"""

from __future__ import annotations

import torch
from transformers.cache_utils import Cache


class SlotKVCache(Cache):
    """Per-request rows of K/V, written at per-row positions (no shared cache position)."""

    def __init__(
        self,
        num_layers: int,
        kv_heads: int,
        head_dim: int,
        *,
        max_rows: int,
        max_columns: int,
        dtype: torch.dtype,
        device: torch.device,
        initial_rows: int = 4,
        initial_columns: int = 256,
    ) -> None:
        # NOTE: Cache.__init__ wants layers or a layer class; we manage storage ourselves.
        super().__init__(layers=[])
        self.num_layers = num_layers
        self.kv_heads, self.head_dim = kv_heads, head_dim
        self.max_rows, self.max_columns = max_rows, max_columns
        self.dtype, self.device = dtype, device
        self.rows = min(initial_rows, max_rows)
        self.columns = min(initial_columns, max_columns)
        self.keys = [self._empty(self.rows, self.columns) for _ in range(num_layers)]
        self.values = [self._empty(self.rows, self.columns) for _ in range(num_layers)]
        # Set by the runner before each forward (see prepare_prefill / prepare_decode).
        self._mode = "decode"
        self._prefill_rows: torch.Tensor | None = None
        self._row_count = 0
        self._write_index: torch.Tensor | None = None  # (n * kv_heads,) see prepare_decode
        self._read_columns = 0
        self._extend_valid = self._extend_rows = self._extend_columns = torch.empty(0)
        self.generation = 0  # bumped whenever the buffers are reallocated
        # Zeroed buffers of a coming shape, filled by grow_ahead, adopted by reserve.
        self._ahead_shape: tuple[int, int] | None = None
        self._ahead: list[torch.Tensor] = []

    def _empty(self, rows: int, columns: int) -> torch.Tensor:
        shape = (rows, self.kv_heads, columns, self.head_dim)
        return torch.zeros(shape, dtype=self.dtype, device=self.device)

    # -- capacity -------------------------------------------------------------------------

    def _grown_shape(self, rows: int, columns: int) -> tuple[int, int]:
        if rows > self.max_rows or columns > self.max_columns:
            raise ValueError(f"cache limit exceeded: {rows} rows x {columns} columns")
        new_rows, new_columns = self.rows, self.columns
        while new_rows < rows:
            new_rows = min(new_rows * 2, self.max_rows)
        while new_columns < columns:
            new_columns = min(new_columns * 2, self.max_columns)
        return new_rows, new_columns

    def reserve(self, rows: int, columns: int) -> None:
        """Grow the buffers (by doubling) so `rows` rows of `columns` columns fit."""
        shape = self._grown_shape(rows, columns)
        if shape == (self.rows, self.columns):
            return
        ahead = self._ahead if self._ahead_shape == shape else []
        self._ahead_shape, self._ahead = None, []
        for buffers in (self.keys, self.values):
            for i, old in enumerate(buffers):
                grown = ahead.pop() if ahead else self._empty(*shape)
                grown[: self.rows, :, : self.columns] = old
                buffers[i] = grown
        self.rows, self.columns = shape
        self.generation += 1

    def grow_ahead(self, rows: int, columns: int, calls_left: int) -> None:
        """Allocate this call's share (of `calls_left` calls) of the buffers a later
        `reserve(rows, columns)` needs, so that call only copies. Forwards meanwhile see
        nothing change."""
        shape = self._grown_shape(rows, columns)
        if shape == (self.rows, self.columns):
            return
        if self._ahead_shape != shape:
            self._ahead_shape, self._ahead = shape, []
        missing = 2 * self.num_layers - len(self._ahead)
        share = -(-missing // max(calls_left, 1))
        self._ahead += [self._empty(*shape) for _ in range(share)]

    def drop_ahead(self) -> None:
        """Free what grow_ahead allocated (the growth it was for will not come)."""
        self._ahead_shape, self._ahead = None, []

    def move_row(self, src: int, dst: int, length: int) -> None:
        """Copy row `src`'s first `length` columns into row `dst` (used to keep rows compact)."""
        self.copy_row_from(self, src, dst, length)

    def copy_row_from(self, other: SlotKVCache, src: int, dst: int, length: int) -> None:
        """Copy `other`'s row `src` (first `length` columns) into this cache's row `dst`."""
        for mine, theirs in ((self.keys, other.keys), (self.values, other.values)):
            for buf, source in zip(mine, theirs, strict=True):
                buf[dst, :, :length] = source[src, :, :length]

    def read_columns(self, row: int, start: int, end: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Row `row`'s columns [start, end) of every layer: (layers, kv_heads, end-start, dim)."""
        keys = torch.stack([buf[row, :, start:end] for buf in self.keys])
        values = torch.stack([buf[row, :, start:end] for buf in self.values])
        return keys, values

    def write_columns(self, row: int, keys: torch.Tensor, values: torch.Tensor) -> None:
        """Fill row `row`'s first columns from (layers, kv_heads, length, dim) keys/values."""
        length = keys.shape[2]
        for layer in range(self.num_layers):
            self.keys[layer][row, :, :length] = keys[layer]
            self.values[layer][row, :, :length] = values[layer]

    # -- per-forward plan -------------------------------------------------------------------

    def prepare_prefill(self, rows: torch.Tensor) -> None:
        """Next forward: the prompts go to cache `rows` (a 1-D index tensor), columns 0..T-1."""
        self._mode, self._prefill_rows = "prefill", rows

    def prepare_extend(
        self, rows: torch.Tensor, starts: list[int], lengths: list[int], width: int
    ) -> None:
        """Next forward: row rows[i] appends lengths[i] tokens at column starts[i] (right-padded
        to `width`) and attends over everything before them (a cached prefix, earlier chunks).
        """
        device = self.device
        valid = torch.arange(width)[None, :] < torch.tensor(lengths)[:, None]  # (m, width)
        columns = torch.tensor(starts)[:, None] + torch.arange(width)[None, :]
        self._mode, self._prefill_rows = "extend", rows
        self._extend_valid = valid.to(device)
        self._extend_rows = rows[:, None].expand(-1, width)[self._extend_valid]
        self._extend_columns = columns.to(device)[self._extend_valid]
        self._read_columns = max(s + n for s, n in zip(starts, lengths, strict=True))

    def prepare_decode(
        self, row_count: int, write_columns: torch.Tensor, read_columns: int
    ) -> None:
        """Next forward: rows [0, row_count) each write one column and read `read_columns`."""
        self._mode, self._row_count = "decode", row_count
        self._read_columns = read_columns
        # Where each (row, head) writes, as an index into a layer's buffer seen as
        # (rows * kv_heads * columns, head_dim): the same for every layer, so it is built
        # once per step here and every layer's write is one index_copy_ (measured cheaper
        # than an advanced-index assignment with a fresh arange per layer).
        device = write_columns.device
        heads = torch.arange(row_count * self.kv_heads, device=device).view(row_count, -1)
        self._write_index = (heads * self.columns + write_columns[:row_count, None]).view(-1)

    # -- transformers' Cache interface ----------------------------------------------------------

    def update(  # type: ignore[override]
        self, key_states: torch.Tensor, value_states: torch.Tensor, layer_idx: int, *args, **kwargs
    ) -> tuple[torch.Tensor, torch.Tensor]:
        keys, values = self.keys[layer_idx], self.values[layer_idx]
        if self._mode == "prefill":
            # key_states: (m, kv_heads, T, head_dim); attend over exactly these.
            length = key_states.shape[2]
            keys[self._prefill_rows, :, :length] = key_states
            values[self._prefill_rows, :, :length] = value_states
            return key_states, value_states
        if self._mode == "extend":
            # write only the real tokens (never padding) at each row's own columns
            keys[self._extend_rows, :, self._extend_columns] = key_states.transpose(1, 2)[
                self._extend_valid
            ]
            values[self._extend_rows, :, self._extend_columns] = value_states.transpose(1, 2)[
                self._extend_valid
            ]
            read = self._read_columns
            return keys[self._prefill_rows, :, :read], values[self._prefill_rows, :, :read]
        # decode: key_states (n, kv_heads, 1, head_dim), one column per row.
        return self.update_decode(key_states, value_states, layer_idx)

    def update_decode(
        self, key_states: torch.Tensor, value_states: torch.Tensor, layer_idx: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """A decode step's write: (n, kv_heads[, 1], head_dim) keys and values, one column
        per row as prepare_decode said; returns (n, kv_heads, read, head_dim) views."""
        keys, values = self.keys[layer_idx], self.values[layer_idx]
        index = self._write_index
        assert index is not None
        dim = self.head_dim
        keys.view(-1, dim).index_copy_(0, index, key_states.reshape(-1, dim))
        values.view(-1, dim).index_copy_(0, index, value_states.reshape(-1, dim))
        rows, read = self._row_count, self._read_columns
        return keys[:rows, :, :read], values[:rows, :, :read]

    def get_seq_length(self, layer_idx: int = 0) -> int:
        return 0

    def get_mask_sizes(self, query_length: int, layer_idx: int = 0) -> tuple[int, int]:
        return self._read_columns, 0

    def get_query_offset(self, layer_idx: int = 0) -> int:
        return 0

    @property
    def is_compileable(self) -> bool:  # type: ignore[override]
        return False

    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.keys + self.values + self._ahead)
