"""Int8 weights on the CPU: the model's linear layers as fbgemm int8 matmuls, per-row exact.

Each nn.Linear becomes a `RowInt8Linear`: int8 weights with a scale per output channel,
and activations quantized with a scale per ROW (per token), computed by the module itself:
every row is divided by its own max |x|, the fbgemm kernel quantizes that with one fixed
scale (7 bits, 1/63.5), multiplies in int8 with exact int32 accumulation and dequantizes to
float32, and the row's scale multiplies back in. So a token's output depends only on that
token: greedy output is the same alone or in any batch (torch's stock dynamic int8 linear
took one scale per batch, which made answers depend on their neighbours, and let one
outlier row flatten the others). Embeddings stay float32.

QUANTIZE=auto picks int8 only on a CPU serving float32 weights with fbgemm kernels; on a
GPU, or with bf16 weights, it leaves the model alone. The float32 oracle always runs on
unquantized weights. `torch._int_mm` (per-row too, but a plain loop on the CPU) and
`torch._weight_int8pack_mm` measured 5-20x slower than float32 here.

Still opt-in (QUANTIZE=none by default): the engine's float32 attention differs in the last
bits between a prompt alone and in a batch, and an int8 rounding step amplifies that into a
different greedy continuation now and then; and open chat from the 135M model degrades in
the decoder layers ("Say hello." gets emojis even with the head kept in float32).
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import torch

from engine.errors import ModelLoadError

CausalLM = Any

logger = logging.getLogger(__name__)

# Rows arrive scaled into [-1, 1] and are quantized to 0..127 (zero point 64): 7 bits, as
# torch's own dynamic linear does on x86 (reduce_range), because fbgemm's AVX2 kernel sums
# pairs of uint8*int8 products in int16, which saturates with full 8-bit activations.
_ROW_SCALE = 1.0 / 63.5
_ROW_ZERO_POINT = 64


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


class RowInt8Linear(torch.nn.Module):
    """y = x W^T + b with int8 W (a scale per output channel) and int8 x (a scale per row)."""

    def __init__(self, linear: torch.nn.Linear) -> None:
        super().__init__()
        weight = linear.weight.detach().float()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        scales = (weight.abs().amax(dim=1) / 127).clamp(min=1e-12).double()
        zero_points = torch.zeros(self.out_features, dtype=torch.long)
        with warnings.catch_warnings():  # torch flags quantized tensors as on their way out
            warnings.simplefilter("ignore")
            qweight = torch.quantize_per_channel(weight, scales, zero_points, 0, torch.qint8)
            self._packed = torch.ops.quantized.linear_prepack(qweight, None)
        bias = linear.bias
        self.bias = None if bias is None else torch.nn.Parameter(bias.detach().float(), False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.reshape(-1, self.in_features)
        scale = rows.abs().amax(dim=1, keepdim=True).clamp(min=1e-12)
        y = torch.ops.quantized.linear_with_input_q_dq_qweight_dq_output_fp32(
            rows / scale, _ROW_SCALE, _ROW_ZERO_POINT, self._packed
        )
        y = y * scale
        if self.bias is not None:
            y = y + self.bias
        return y.reshape(*x.shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, int8 per row"


def quantize_int8(model: CausalLM) -> CausalLM:
    """Every nn.Linear (decoder and head) as a RowInt8Linear, in place."""
    targets = [
        (name, module)
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear)
    ]
    for name, linear in targets:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, RowInt8Linear(linear))
    logger.debug("int8: %d linear layers quantized per row", len(targets))
    return model


def _has_int8_engine() -> bool:
    engines = torch.backends.quantized.supported_engines
    return "fbgemm" in engines or "x86" in engines
