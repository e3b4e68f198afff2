"""Prefix caching: keys/values of prompt blocks kept after their request, reused by the next.

Support traffic repeats itself: every question carries the same system prompt, often the
same retrieved passages, and a thread's next turn starts with the turns before it. The
cache keeps the K/V of full blocks of `block_tokens` tokens, each keyed by its own tokens
and the key of the block before it (so a block matches only after the same whole prefix,
as in vLLM). A new row copies its longest cached prefix into its slot and prefills only
the rest. Blocks are evicted least recently used beyond `max_blocks`.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from engine.model.kv_cache import SlotKVCache

BlockKey = tuple[int, tuple[int, ...]]  # (hash of the previous block's key, this block's tokens)


@dataclass(slots=True)
class _Block:
    keys: torch.Tensor  # (layers, kv_heads, block_tokens, head_dim)
    values: torch.Tensor


class PrefixCache:
    """Full token blocks' K/V, shared across requests, least recently used evicted first."""

    def __init__(self, *, block_tokens: int, max_blocks: int) -> None:
        self.block_tokens = block_tokens
        self.max_blocks = max_blocks
        self.blocks: collections.OrderedDict[BlockKey, _Block] = collections.OrderedDict()
        self.looked_up_tokens = 0
        self.hit_tokens = 0

    @staticmethod
    def bytes_per_token(cache: SlotKVCache) -> int:
        element = torch.empty((), dtype=cache.dtype).element_size()
        return 2 * cache.num_layers * cache.kv_heads * cache.head_dim * element

    def _keys(self, tokens: Sequence[int], limit: int) -> list[BlockKey]:
        size, keys, previous = self.block_tokens, [], 0
        for start in range(0, limit - size + 1, size):
            key = (previous, tuple(tokens[start : start + size]))
            keys.append(key)
            previous = hash(key)
        return keys

    def load(self, tokens: Sequence[int], cache: SlotKVCache, row: int) -> int:
        """Copy the longest cached prefix of `tokens` into `row`; return its length.

        At least one token is always left to prefill (its logits give the first new token).
        """
        self.looked_up_tokens += len(tokens)
        found: list[_Block] = []
        for key in self._keys(tokens, len(tokens) - 1):
            block = self.blocks.get(key)
            if block is None:
                break
            self.blocks.move_to_end(key)
            found.append(block)
        if not found:
            return 0
        keys = torch.cat([b.keys for b in found], dim=2)
        values = torch.cat([b.values for b in found], dim=2)
        cache.write_columns(row, keys, values)
        hit = len(found) * self.block_tokens
        self.hit_tokens += hit
        return hit

    def store(self, tokens: Sequence[int], cache: SlotKVCache, row: int) -> None:
        """Keep the full blocks of `tokens` (all in `row` of `cache`) not cached yet."""
        size = self.block_tokens
        for i, key in enumerate(self._keys(tokens, len(tokens))):
            if key in self.blocks:
                self.blocks.move_to_end(key)
                continue
            keys, values = cache.read_columns(row, i * size, (i + 1) * size)
            self.blocks[key] = _Block(keys, values)  # stack copied them
            while len(self.blocks) > self.max_blocks:
                self.blocks.popitem(last=False)

    @property
    def hit_rate(self) -> float:
        return self.hit_tokens / self.looked_up_tokens if self.looked_up_tokens else 0.0

    def clear(self) -> None:
        self.blocks.clear()
