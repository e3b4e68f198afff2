"""Building a running engine from its options: load the model once, size the batch, start.

This is where the engine's knobs get their automatic defaults (device, dtype, threads,
batch size) and where the one start-up line is logged.
"""

from __future__ import annotations

import logging

from engine.engine import Engine, EngineConfig
from engine.options import EngineOptions
from engine.protocol import GenerationEngine

logger = logging.getLogger(__name__)


def start_engine(options: EngineOptions) -> GenerationEngine:
    """Load options.model and return a started Engine (the model stays resident); with
    ENGINE_URL set, a RemoteEngine over that server instead (the same contract, no torch)."""
    if options.engine_url:
        from engine.remote.startup import start_remote_engine

        return start_remote_engine(options)
    from engine.model.cpu_path import choose_cpu_path
    from engine.model.loader import (
        choose_chunk_budget,
        choose_device,
        choose_dtype,
        choose_prefill_chunk,
        choose_threads,
        load_model,
        resolve_source,
        use_threads,
    )
    from engine.model.quantize import calibration_prompts, choose_quantization
    from engine.model.runner import ModelRunner

    device = choose_device(options.device)
    measure = device.type == "cpu" and options.dtype == "auto" and options.quantize == "auto"
    dtype = choose_dtype("float32" if measure else options.dtype, device)
    threads = choose_threads(options.torch_threads)
    use_threads(device, threads)
    loaded = load_model(
        resolve_source(options.model), device=device, dtype=dtype, cache_dir=options.cache_dir
    )
    max_running = options.max_batch or (64 if device.type == "cuda" else 16)
    if measure:  # int8 or bf16, whichever decodes faster on this CPU (measured once, cached)
        path = choose_cpu_path(
            loaded.model,
            loaded.tokenizer,
            name=loaded.source.name,
            rows=max_running,
            threads=threads,
            cache_dir=options.cache_dir,
        )
        logger.info(
            "weights: %s%s: %s",
            path.dtype,
            " + int8" if path.quantize == "int8" else "",
            path.reason,
        )
        loaded.model.to(choose_dtype(path.dtype, device))
        quantize = path.quantize
    else:
        quantize = choose_quantization(options.quantize, device, dtype)
    runner = ModelRunner(
        loaded.model,
        name=loaded.source.name,
        max_rows=max_running,
        context_window=options.max_context_tokens,
        threads=threads if device.type == "cpu" else None,
        cuda_graphs=options.cuda_graphs,
        prefix_cache_mb=options.prefix_cache_mb,
        quantize=quantize,
        calibration=calibration_prompts(loaded.tokenizer) if quantize == "int8" else (),
    )
    config = EngineConfig(
        max_running=max_running,
        max_queue=options.max_queue,
        default_timeout_s=options.request_timeout_s,
        prefill_chunk_tokens=choose_prefill_chunk(options.prefill_chunk_tokens, device),
        prefill_chunk_budget_s=choose_chunk_budget(device),
        stall_s=options.engine_stall_s,
    )
    eos = loaded.model.generation_config.eos_token_id
    eos_ids = [eos] if isinstance(eos, int) else list(eos or [])
    engine = Engine(runner, loaded.tokenizer, config, eos_token_ids=eos_ids, info=runner.info)
    info = runner.info
    logger.info(
        "model %s on %s (%s%s), %.0fM parameters, loaded in %.1f s; batch %d, context %d%s",
        info.name,
        info.device,
        info.dtype,
        ", int8 weights" if quantize == "int8" else "",
        info.parameters / 1e6,
        loaded.load_s,
        max_running,
        info.context_window,
        f", {threads} threads" if device.type == "cpu" else "",
    )
    return engine
