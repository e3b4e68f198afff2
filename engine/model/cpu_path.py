"""Which weights serve fastest on this CPU, int8 or bfloat16: measured, not read off flags.

On a CPU with DTYPE=auto and QUANTIZE=auto there are two fast paths: float32 activations
with int8 weights (engine.model.quantize; fbgemm, which runs on every x86-64 CPU), and
bfloat16, which is fast only where the CPU multiplies it natively (AVX512_BF16 or AMX).
Where it does, the flags do not say which wins: on a Sapphire Rapids Xeon (AMX) the int8
path decoded 1.32x faster than bf16. So on such a CPU the start-up times a few decode steps
of the model both ways, at the batch size it serves, and keeps the faster. The verdict is
cached per CPU, torch version, model, threads and batch in `cache_dir/cpu-path.json`: the
measurement (a few seconds for the 135M default) runs once per machine. Without native
bf16 there is nothing to measure: bf16 would be emulated, many times slower.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import platform
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from engine.model.quantize import calibration_prompts, choose_quantization
from engine.types import SamplingParams

logger = logging.getLogger(__name__)

PROMPT_TOKENS = 96  # each row's prompt before the timed steps (a short support question)
WARM_STEPS, TIMED_STEPS = 2, 5


@dataclass(frozen=True, slots=True)
class CpuPath:
    dtype: str  # "float32" or "bfloat16"
    quantize: str  # "int8" or "none"
    reason: str  # one clause for the start-up log
    int8_step_ms: float | None = None
    bf16_step_ms: float | None = None


def cpu_has_bf16() -> bool:
    """AVX512_BF16 or AMX: the CPU multiplies bf16 natively (Linux flags)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def choose_cpu_path(
    model: Any,
    tokenizer: Any,
    *,
    name: str,
    rows: int,
    threads: int,
    cache_dir: Path,
    native_bf16: bool | None = None,
) -> CpuPath:
    """The weights for `model` (float32, on the CPU) under DTYPE=auto and QUANTIZE=auto."""
    int8 = choose_quantization("auto", torch.device("cpu"), torch.float32)
    if not (cpu_has_bf16() if native_bf16 is None else native_bf16):
        return CpuPath("float32", int8, "no native bf16 on this CPU (AVX512_BF16/AMX)")
    if int8 != "int8":
        return CpuPath("bfloat16", "none", "native bf16 and no int8 kernels (fbgemm)")
    key = _machine_key(name, rows, threads)
    path = verdicts_path(cache_dir)
    verdicts = _read(path)
    if key in verdicts:
        return CpuPath(**verdicts[key] | {"reason": verdicts[key]["reason"] + ", cached"})
    # rounded first: the choice, the log line and the cached figures all say the same
    int8_ms = round(decode_step_ms(model, tokenizer, rows=rows, quantize="int8"), 2)
    bf16_ms = round(decode_step_ms(model, tokenizer, rows=rows, dtype=torch.bfloat16), 2)
    winner = ("float32", "int8") if int8_ms <= bf16_ms else ("bfloat16", "none")
    reason = (
        f"a {rows}-row decode step measured {int8_ms:.1f} ms with int8 weights "
        f"and {bf16_ms:.1f} ms in bf16"
    )
    verdict = CpuPath(*winner, reason, int8_ms, bf16_ms)
    verdicts[key] = asdict(verdict)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(verdicts, indent=1))
    return verdict


def verdicts_path(cache_dir: Path) -> Path:
    return cache_dir / "cpu-path.json"


def decode_step_ms(
    model: Any,
    tokenizer: Any,
    *,
    rows: int,
    quantize: str = "none",
    dtype: torch.dtype = torch.float32,
) -> float:
    """The median time of a decode step over `rows` rows, on a copy of `model`."""
    from engine.model.runner import ModelRunner

    trial = copy.deepcopy(model).to(dtype)
    calibration = calibration_prompts(tokenizer) if quantize == "int8" else ()
    runner = ModelRunner(
        trial,
        name="cpu-path",
        max_rows=rows,
        context_window=PROMPT_TOKENS + WARM_STEPS + TIMED_STEPS + 8,
        quantize=quantize,
        calibration=calibration,
    )
    vocab = int(model.config.vocab_size)
    params = SamplingParams(max_new_tokens=64, temperature=0.0, ignore_eos=True)
    for row in range(rows):  # one row at a time: a prefill's size does not matter here
        prompt = [(7 + 31 * row + 13 * i) % vocab for i in range(PROMPT_TOKENS)]
        runner.prefill([(row, prompt, params)])
    times = []
    for step in range(WARM_STEPS + TIMED_STEPS):
        started = time.perf_counter()
        runner.decode()
        if step >= WARM_STEPS:
            times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def _machine_key(name: str, rows: int, threads: int) -> str:
    """The CPU (model name and flags), torch, the model and the batch, hashed."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        lines = []
    first = {line.split(":")[0].strip(): line for line in reversed(lines)}  # CPU 0's lines
    cpu = f"{first.get('model name', platform.processor())}|{first.get('flags', '')}"
    text = f"{cpu}|torch {torch.__version__}|{name}|{rows} rows|{threads} threads"
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
