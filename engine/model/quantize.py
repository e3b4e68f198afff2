"""Int8 weights on the CPU: the model's linear layers as fbgemm int8 matmuls, per-row exact.

Each nn.Linear becomes a `RowInt8Linear`: int8 weights with a scale per output channel,
and activations quantized with a scale per ROW (per token) by the module itself: every
row is divided by its own max |x|, fbgemm quantizes that with one fixed scale (8 bits,
zero point 128), multiplies in int8 with exact int32 accumulation and dequantizes, and
the row's scale multiplies back in. So a row's int8 product depends only on that row.
Greedy output can still change with the batch: float32 parts sum in an order that depends
on how many rows there are (the outlier channels below: MKL's sgemm treats rows outside
full blocks of 4 with another kernel; and others, since padding those to full blocks left
the count below unchanged), and the next layer's int8 rounding turns those last-bit
differences into different tokens now and then. Measured on 8 prompts, prefix cache off:
4 answers differ alone and together on int8, none on float32.

Two things keep it close to float32 (measured on the default model; the numbers are in
`calibrate`'s docstring):
- Outlier channels stay float32. A few input channels of each layer carry values tens of
  times larger than the rest; with one scale per row they would crush every other channel
  into a couple of levels. `calibrate` runs the float32 model over a short generic text
  once and picks, per layer, the channels with the largest |x|; those go through a small
  float32 matmul beside the int8 one (LLM.int8()'s decomposition, with a fixed channel set).
- 8-bit activations with 7-bit weights (-63..63). fbgemm's AVX2 kernel adds pairs of
  uint8*int8 products in int16, which saturates with 8-bit weights and 8-bit activations;
  torch's own dynamic linear drops the activations to 7 bits instead, which costs more.

QUANTIZE=auto picks int8 only on a CPU serving float32 weights with fbgemm kernels; on a
GPU, or with bf16 weights, it leaves the model alone. The float32 oracle always runs on
unquantized weights. Weight-only kernels (`torch._weight_int8pack_mm`,
`_weight_int4pack_mm_for_cpu`) measured 10-30x slower than float32 on an AVX2 CPU (they
are vectorized for AVX512 only), and `torch._int_mm` is a plain loop on the CPU.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Sequence
from typing import Any

import torch

from engine.errors import ModelLoadError

CausalLM = Any

logger = logging.getLogger(__name__)

# Rows arrive scaled into [-1, 1] and are quantized to 0..255 around 128; weights to
# -63..63, so a pair of products never leaves int16 (2 * 255 * 63 < 32767).
_ROW_SCALE = 1.0 / 127.5
_ROW_ZERO_POINT = 128
_WEIGHT_LEVELS = 63
OUTLIER_CHANNELS = 32  # per layer, kept in float32

# The int8 matmul. Called through `torch.ops.quantized.<name>`, each call first walks its
# arguments in Python looking for fake script objects (for torch.compile's tracing): 4-5 us
# a call measured on 2 cores, 121 calls per decode step of the default model. The packet's
# underlying C++ operation skips that; where a torch version lacks `_op`, the packet itself.
_INT8_LINEAR_PACKET = torch.ops.quantized.linear_with_input_q_dq_qweight_dq_output_fp32
_int8_linear = getattr(_INT8_LINEAR_PACKET, "_op", _INT8_LINEAR_PACKET)

# Generic text for finding outlier channels: a little of everything a chat model sees
# (a system prompt, questions, prose, a list, code). Not the knowledge base.
CALIBRATION_TEXTS = (
    "You are a helpful assistant. Answer clearly and briefly.",
    "Hi! Can you help me write an email to my landlord about a broken heater?",
    "The committee met on Tuesday to review the annual budget. After a long discussion, "
    "it approved three new projects and postponed a fourth until the spring.",
    "To install the software, download the package, run the installer and follow the "
    "prompts. Restart your computer when it finishes; if an error appears, note its code.",
    "Shopping list:\n- 2 kg potatoes\n- milk\n- 6 eggs\n- coffee (ground, not beans)",
    "def average(values):\n    return sum(values) / len(values) if values else 0.0",
    "In 1969 two astronauts walked on the Moon while a third orbited above. The mission "
    "lasted eight days, and the crew returned safely to Earth on 24 July.",
    "Thanks so much for your quick reply :) I'll try that tonight and let you know!",
)


def calibration_prompts(tokenizer: Any) -> list[list[int]]:
    """CALIBRATION_TEXTS as token ids: the first two as a chat, the rest as plain text."""
    from engine.chat import ChatFormat

    system, user, *rest = CALIBRATION_TEXTS
    chat = ChatFormat(tokenizer).encode(
        [{"role": "system", "content": system}, {"role": "user", "content": user}]
    )
    return [chat] + [list(tokenizer.encode(text)) for text in rest]


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
    """y = x W^T + b with int8 W (a scale per output channel) and int8 x (a scale per row);
    the input channels in `outliers` are multiplied in float32 instead."""

    def __init__(self, linear: torch.nn.Linear, outliers: torch.Tensor | None = None) -> None:
        super().__init__()
        weight = linear.weight.detach().float().clone()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.outliers: torch.Tensor | None = None
        if outliers is not None and outliers.numel():
            self.outliers = outliers.to(torch.long)
            self.outlier_weight = weight[:, self.outliers].t().contiguous()  # (k, out)
            weight[:, self.outliers] = 0.0
        scales = (weight.abs().amax(dim=1) / _WEIGHT_LEVELS).clamp(min=1e-12).double()
        zero_points = torch.zeros(self.out_features, dtype=torch.long)
        with warnings.catch_warnings():  # torch flags quantized tensors as on their way out
            warnings.simplefilter("ignore")
            qweight = torch.quantize_per_channel(weight, scales, zero_points, 0, torch.qint8)
            self._packed = torch.ops.quantized.linear_prepack(qweight, None)
        bias = linear.bias
        self.bias = None if bias is None else torch.nn.Parameter(bias.detach().float(), False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.dim() == 2  # a decode step's rows: no reshapes (each op costs microseconds)
        rows = x if flat else x.reshape(-1, self.in_features)
        magnitude = rows.abs()
        if self.outliers is not None:  # their weights are zero here: let them clip
            magnitude.index_fill_(1, self.outliers, 0.0)
        scale = magnitude.amax(dim=1, keepdim=True).clamp_(min=1e-12)
        y = _int8_linear(rows / scale, _ROW_SCALE, _ROW_ZERO_POINT, self._packed)
        y.mul_(scale)
        if self.outliers is not None:
            y.addmm_(rows.index_select(1, self.outliers), self.outlier_weight)
        if self.bias is not None:
            y.add_(self.bias)
        return y if flat else y.reshape(*x.shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        kept = 0 if self.outliers is None else self.outliers.numel()
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"int8 per row, {kept} float32 channels"
        )


class SharedInputInt8:
    """Sibling layers that read the same input (q/k/v, gate/up) as one int8 matmul.

    One quantization of the input and one wider matmul instead of two or three: each
    sibling's `SliceOf` asks for the whole output and returns its columns, computed once
    per input tensor. Per column this is the same arithmetic as the separate layers.
    """

    def __init__(self, linears: Sequence[torch.nn.Linear], outliers: torch.Tensor | None) -> None:
        has_bias = any(m.bias is not None for m in linears)
        width = sum(m.out_features for m in linears)
        fused = torch.nn.Linear(linears[0].in_features, width, bias=has_bias)
        with torch.no_grad():
            fused.weight.copy_(torch.cat([m.weight.detach().float() for m in linears]))
            if has_bias:  # a sibling without one adds zeros
                fused.bias.copy_(
                    torch.cat(
                        [
                            torch.zeros(m.out_features) if m.bias is None else m.bias.float()
                            for m in linears
                        ]
                    )
                )
        self.linear = RowInt8Linear(fused, outliers)
        self.readers = len(linears)
        # (input, output, sibling reads still to come); dropped after the last read, so a
        # long prompt's activations are not kept alive until the next forward
        self._pending: tuple[torch.Tensor, torch.Tensor, int] | None = None

    def output(self, x: torch.Tensor) -> torch.Tensor:
        pending = self._pending  # one read: safe if two threads share the model
        if pending is not None and pending[0] is x:
            _, y, left = pending
        else:
            y, left = self.linear(x), self.readers
        self._pending = (x, y, left - 1) if left > 1 else None
        return y


class SliceOf(torch.nn.Module):
    """One sibling's columns of a SharedInputInt8's output."""

    def __init__(self, shared: SharedInputInt8, start: int, end: int) -> None:
        super().__init__()
        self.shared, self.start, self.end = shared, start, end
        self.in_features, self.out_features = shared.linear.in_features, end - start

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shared.output(x)[..., self.start : self.end]

    def extra_repr(self) -> str:
        return f"columns {self.start}:{self.end} of {self.shared.linear.extra_repr()}"


SIBLINGS = (("q_proj", "k_proj", "v_proj"), ("gate_proj", "up_proj"))


@torch.no_grad()
def calibrate(
    model: CausalLM, prompts: Sequence[Sequence[int]], count: int = OUTLIER_CHANNELS
) -> dict[str, torch.Tensor]:
    """Per linear layer, the `count` input channels with the largest |x| over `prompts`.

    Measured on the default model with `deskhand bench engine --quality` (perplexity on the
    sample knowledge base; KL divergence of next-token distributions from float32):
    float32 30.43; int8 with 7-bit rows and no outlier channels 35.26 (KL 0.174); 8-bit rows
    without them 32.29 (KL 0.065); with 32 float32 channels per layer 30.80 (KL 0.013);
    llama.cpp on the same GGUF 30.57 (KL 0.004).
    """
    peaks: dict[str, torch.Tensor] = {}
    hooks = []
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear):

            def record(module: Any, inputs: Any, output: Any, name: str = name) -> None:
                peak = inputs[0].detach().reshape(-1, inputs[0].shape[-1]).abs().amax(dim=0)
                peaks[name] = torch.maximum(peaks[name], peak) if name in peaks else peak

            hooks.append(module.register_forward_hook(record))
    device = next(model.parameters()).device
    text = [token for prompt in prompts for token in prompt]  # one forward over all of them
    try:
        model(torch.tensor([text], device=device), use_cache=False)
    finally:
        for hook in hooks:
            hook.remove()
    return {
        name: peak.float().topk(min(count, peak.numel())).indices.cpu()
        for name, peak in peaks.items()
    }


def quantize_int8(model: CausalLM, calibration: Sequence[Sequence[int]] = ()) -> CausalLM:
    """Every nn.Linear (decoder and head) as a RowInt8Linear, in place; with `calibration`
    prompts, each layer's outlier channels found on them stay float32."""
    started = time.perf_counter()
    outliers = calibrate(model, calibration) if calibration else {}
    fused = 0
    for parent_name, parent in list(model.named_modules()):
        for names in SIBLINGS:
            found = [getattr(parent, n, None) for n in names]
            linears = [m for m in found if isinstance(m, torch.nn.Linear)]
            if len(linears) < len(names):
                continue
            first = f"{parent_name}.{names[0]}" if parent_name else names[0]
            shared = SharedInputInt8(linears, outliers.get(first))  # one input, one channel set
            start = 0
            for name, linear in zip(names, linears, strict=True):
                setattr(parent, name, SliceOf(shared, start, start + linear.out_features))
                start += linear.out_features
            fused += 1
    targets = [
        (name, module)
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear)
    ]
    for name, linear in targets:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, RowInt8Linear(linear, outliers.get(name)))
    logger.debug(
        "int8: %d linear layers quantized per row, %d groups fused (%d calibrated) in %.1f s",
        len(targets) + fused,
        fused,
        len(outliers),
        time.perf_counter() - started,
    )
    return model


def _has_int8_engine() -> bool:
    engines = torch.backends.quantized.supported_engines
    return "fbgemm" in engines or "x86" in engines
