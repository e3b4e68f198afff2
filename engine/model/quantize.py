"""Int8 weights on the CPU: the model's linear layers as fbgemm dynamic-quantized int8 matmuls.

Measured on this project's 2-core CPU (see the README's engine figures): plain torch's
dynamic int8 linear (int8 weights per output channel, activations quantized on the fly)
ran the default model's layers 1.5-2.5x faster than float32 at 16-64 rows, while
`torch._weight_int8pack_mm` (weight-only) was 10-20x slower than float32 there. So
QUANTIZE=auto picks int8 only on a CPU serving float32 weights; on a GPU, or with bf16
weights, it leaves the model alone. The float32 oracle always runs on unquantized weights.

The price: activations are quantized per batch, so greedy output depends on what else is
in the batch, and open-ended chat from a 135M model visibly degrades (kb eval's grounded
answers did not change). So the default is QUANTIZE=none; auto is opt-in.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import torch

from engine.errors import ModelLoadError

CausalLM = Any

logger = logging.getLogger(__name__)


def choose_quantization(setting: str, device: torch.device, dtype: torch.dtype) -> str:
    """ "int8" or "none" for QUANTIZE=auto|none|int8 on this device and dtype."""
    if setting == "none":
        return "none"
    fits = device.type == "cpu" and dtype == torch.float32 and _has_int8_engine()
    if setting == "int8" and not fits:
        raise ModelLoadError(
            "QUANTIZE=int8 needs a CPU with DTYPE=float32 (fbgemm int8 kernels); "
            f"this is {device.type} with {str(dtype).removeprefix('torch.')}. "
            "Use QUANTIZE=auto or none."
        )
    return "int8" if fits else "none"


def quantize_int8(model: CausalLM) -> CausalLM:
    """Every nn.Linear (decoder and head) as an int8 dynamic-quantized one, in place."""
    with warnings.catch_warnings():  # torch points eager quantization users at torchao
        warnings.simplefilter("ignore")
        qconfig = torch.ao.quantization.per_channel_dynamic_qconfig  # a scale per output row
        torch.ao.quantization.quantize_dynamic(
            model, {torch.nn.Linear: qconfig}, dtype=torch.qint8, inplace=True
        )
    return model


def _has_int8_engine() -> bool:
    return "fbgemm" in torch.backends.quantized.supported_engines or (
        "x86" in torch.backends.quantized.supported_engines
    )
