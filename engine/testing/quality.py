"""`deskhand bench engine --quality DIR`: how close int8 stays to float32, on text from DIR.

Teacher-forced over 256-token chunks of the .md/.txt files in DIR: perplexity, the share of
positions where the top next token matches float32's, and the mean KL divergence of the
next-token distribution from float32's. For int8 as served (outlier channels from the
calibration text) and int8 without outlier channels. The float32 model is the reference.
(llama.cpp is not scored here: it runs only as its own server process, which does not hand
out the full next-token distribution over a given text.)
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import torch

from engine.model.quantize import calibration_prompts, quantize_int8

CHUNK_TOKENS = 256
MAX_CHUNKS = 24


def text_chunks(tokenizer: Any, folder: str) -> list[list[int]]:
    files = sorted(p for p in Path(folder).rglob("*") if p.suffix in {".md", ".txt"})
    if not files:
        raise SystemExit(f"--quality {folder}: no .md or .txt files there")
    chunks: list[list[int]] = []
    for path in files:
        ids = list(tokenizer.encode(path.read_text(encoding="utf-8")))
        chunks += [ids[i : i + CHUNK_TOKENS] for i in range(0, len(ids) - 64, CHUNK_TOKENS)]
    return chunks[:MAX_CHUNKS]


@torch.no_grad()
def _logits(model: Any, chunk: list[int]) -> torch.Tensor:
    return model(torch.tensor([chunk]), use_cache=False).logits[0].float()


def _scores(logits: list[torch.Tensor], reference: list[torch.Tensor], chunks: list[list[int]]):
    nll = agree = kl = 0.0
    predicted = positions = 0
    for got, ref, chunk in zip(logits, reference, chunks, strict=True):
        log_p = got.log_softmax(-1)
        targets = torch.tensor(chunk[1:])
        nll += -log_p[:-1].gather(1, targets[:, None]).sum().item()
        predicted += len(chunk) - 1
        agree += (got.argmax(-1) == ref.argmax(-1)).sum().item()
        kl += torch.nn.functional.kl_div(
            log_p, ref.log_softmax(-1), log_target=True, reduction="sum"
        ).item()
        positions += len(chunk)
    return {
        "perplexity": round(float(torch.tensor(nll / predicted).exp()), 3),
        "top1_agreement": round(agree / positions, 4),
        "kl_from_float32": round(kl / positions, 5),
    }


def quality(model: Any, tokenizer: Any, folder: str) -> dict[str, Any]:
    chunks = text_chunks(tokenizer, folder)
    reference = [_logits(model, c) for c in chunks]
    report: dict[str, Any] = {
        "text": folder,
        "chunks": len(chunks),
        "tokens": sum(map(len, chunks)),
        "float32": _scores(reference, reference, chunks),
    }
    int8 = quantize_int8(copy.deepcopy(model), calibration_prompts(tokenizer))
    report["int8"] = _scores([_logits(int8, c) for c in chunks], reference, chunks)
    del int8
    plain = quantize_int8(copy.deepcopy(model))
    report["int8_without_outlier_channels"] = _scores(
        [_logits(plain, c) for c in chunks], reference, chunks
    )
    del plain
    return report
