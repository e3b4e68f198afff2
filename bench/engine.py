"""`deskhand bench engine`: plain sequential generate vs the batching engine, as one JSON line.

In one process and one run: (1) the prompts one at a time with `model.generate` in fp32,
the baseline; (2) all of them submitted at once to the engine in fp32, checked against (1)
token for token; (3) all of them at once to the engine in its default configuration (int8
weights on a float32 CPU, bf16 on a bf16-capable one; the prefix cache and chunked prefill
as configured), and (4) the same prompts through llama.cpp's own server, in its own
process: with --peer llama-server all at once on `llama-server -np N` (continuous batching
over N parallel slots, at every concurrency level), with --peer llama-cpp one at a time
(`-np 1`). (3) and (4) run in `--rounds` rounds, one of each per round, and their medians
are reported: on a shared machine a neighbour's burst then slows one round of both sides,
not one side of the ratio. Ratios measured in the same run are what to quote.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

from bench.workload import build_prompts, run_engine, warm_up_prompts
from engine.engine import Engine, EngineConfig
from engine.types import SamplingParams


def _versus(
    peer: str, level: str, engine_rounds: list[dict[str, Any]], peer_rounds: list[dict[str, Any]]
) -> dict[str, Any]:
    """The peer's medians at one concurrency level ("" = --requests) and the engine's ratio to
    them, overall and round by round (each round's engine run against the same round's)."""
    prefix, suffix = (f"{level}_", f"_{level}") if level else ("", "")
    peer_tok_s = statistics.median(r["tok_s"] for r in peer_rounds)
    engine_tok_s = statistics.median(r["tok_s"] for r in engine_rounds)
    return {
        f"{prefix}{peer}_tok_s": round(peer_tok_s, 1),
        f"{prefix}{peer}_tok_s_rounds": [round(r["tok_s"], 1) for r in peer_rounds],
        f"{prefix}{peer}_ttft_p50_s": round(
            statistics.median(r["ttft_p50_s"] for r in peer_rounds), 3
        ),
        f"{prefix}{peer}_ttft_p95_s": round(
            statistics.median(r["ttft_p95_s"] for r in peer_rounds), 3
        ),
        f"vs_{peer}{suffix}": round(engine_tok_s / peer_tok_s, 2),
        f"vs_{peer}_rounds{suffix}": [
            round(e["tok_s"] / p["tok_s"], 2)
            for e, p in zip(engine_rounds, peer_rounds, strict=True)
        ],
    }


def _engine_over(
    model: Any,
    tokenizer: Any,
    eos: list[int],
    rows: int,
    context: int,
    threads: int | None,
    cuda_graphs: bool = True,
    *,
    prefix_cache_mb: int = 0,
    prefill_chunk_tokens: int = 0,
) -> Engine:
    from engine.model.loader import choose_chunk_budget
    from engine.model.runner import ModelRunner

    runner = ModelRunner(
        model,
        name="bench",
        max_rows=rows,
        context_window=context,
        threads=threads,
        cuda_graphs=cuda_graphs,
        prefix_cache_mb=prefix_cache_mb,
    )
    config = EngineConfig(
        max_running=rows,
        max_queue=rows,
        prefill_chunk_tokens=prefill_chunk_tokens,
        prefill_chunk_budget_s=choose_chunk_budget(runner.device),  # as served
    )
    return Engine(runner, tokenizer, config, eos_token_ids=eos, info=runner.info)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="deskhand bench engine", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    parser.add_argument("--requests", type=int, default=16)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--concurrency", default="", help="e.g. 1,16,64: extra engine runs")
    parser.add_argument(
        "--random-model",
        choices=["135m", "350m", "1b"],
        default=None,
        help="random weights of this size with the default tokenizer (GPU checks)",
    )
    parser.add_argument("--skip-fp32", action="store_true", help="skip phase (2)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds of (3) and the peer, interleaved; medians are reported",
    )
    parser.add_argument(
        "--compare-eager",
        action="store_true",
        help="on CUDA, also run the concurrency levels without CUDA graphs",
    )
    parser.add_argument(
        "--peer",
        choices=["llama-server", "llama-cpp", "hf-cb", "openai"],
        action="append",
        default=[],
        help="also measure llama.cpp's llama-server with parallel slots, llama.cpp one "
        "request at a time, transformers' continuous batching, or the remote path",
    )
    parser.add_argument(
        "--engine-url",
        default=None,
        help="with --peer openai: the server; omitted, a llama-server is started here",
    )
    parser.add_argument(
        "--quantize",
        choices=["auto", "none", "int8"],
        default=None,
        help="weights of the default configuration (default: the QUANTIZE setting)",
    )
    parser.add_argument(
        "--workload",
        choices=["plain", "support"],
        default="plain",
        help="support: shared system prompt, passages and two-turn threads, prefix cache on/off",
    )
    parser.add_argument(
        "--long-prompt",
        type=int,
        default=0,
        metavar="TOKENS",
        help="decode stalls while a prompt this long arrives, chunked prefill on/off",
    )
    parser.add_argument(
        "--quality",
        metavar="DIR",
        help="int8 vs float32 on the text files in DIR",
    )
    parser.add_argument(
        "--tokenizer",
        default=None,
        help="with --random-model: a tokenizer directory instead of MODEL's",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    report = run(args)
    if not args.json:
        for key, value in report.items():
            print(f"{key:>20}: {value}", file=sys.stderr)
    print(json.dumps(report))
    return 0


def run(args: argparse.Namespace) -> dict[str, Any]:
    from deskhand.settings import load_settings
    from engine.chat import ChatFormat
    from engine.model.loader import (
        choose_device,
        choose_dtype,
        choose_prefill_chunk,
        choose_threads,
        load_model,
        peak_gpu_mb,
        resolve_source,
        use_threads,
    )
    from engine.testing.reference import clone_as, generate_one, random_llama

    settings = load_settings()
    if args.quantize:
        settings = settings.model_copy(update={"quantize": args.quantize})
    device = choose_device(settings.device)
    default_dtype = choose_dtype(settings.dtype, device)
    threads = choose_threads(settings.torch_threads)
    use_threads(device, threads)
    cpu_threads = threads if device.type == "cpu" else None
    started = time.perf_counter()
    source = resolve_source(settings.model)
    if args.random_model:  # no weights travel: a model of that size with random weights
        from transformers import AutoTokenizer

        tokenizer: Any = AutoTokenizer.from_pretrained(args.tokenizer or source.location)
        model = random_llama(len(tokenizer), args.random_model, device=str(device), dtype="float32")
        name = f"random-llama-{args.random_model}"
    else:
        float32 = choose_dtype("float32", device)
        loaded = load_model(source, device=device, dtype=float32, cache_dir=settings.cache_dir)
        tokenizer, model, name = loaded.tokenizer, loaded.model, loaded.source.name
    load_s = time.perf_counter() - started
    eos = model.generation_config.eos_token_id
    eos_ids = [eos] if isinstance(eos, int) else list(eos or [])
    if args.quality:
        from engine.testing.quality import quality

        return {"model": name} | quality(model, tokenizer, args.quality)
    if args.workload == "support" or args.long_prompt:
        return _scenario(
            args, model, tokenizer, eos_ids, cpu_threads, settings, name, device, source.location
        )
    chat = ChatFormat(tokenizer, eos_ids)
    conversations = build_prompts(args.requests)
    prompts = [chat.encode(c) for c in conversations]
    n = args.new_tokens
    params = SamplingParams(max_new_tokens=n, temperature=0.0, ignore_eos=True)
    context = max(len(p) for p in prompts) + n + 8
    report: dict[str, Any] = {
        "model": name,
        "device": str(device),
        "dtype": str(default_dtype).removeprefix("torch."),
        "requests": len(prompts),
        "new_tokens": n,
        "prompt_tokens_min": min(map(len, prompts)),
        "prompt_tokens_max": max(map(len, prompts)),
        "threads": threads if device.type == "cpu" else None,
        "load_s": round(load_s, 2),
    }

    # (1) the baseline: one at a time, plain generate, fp32
    baseline_model = model if device.type == "cpu" else clone_as(model, "bfloat16")
    t0 = time.perf_counter()
    reference = [generate_one(baseline_model, p, n, None) for p in prompts]
    sequential_tok_s = sum(map(len, reference)) / (time.perf_counter() - t0)
    report["sequential_dtype"] = str(next(baseline_model.parameters()).dtype).removeprefix("torch.")
    report["sequential_tok_s"] = round(sequential_tok_s, 1)

    # (2) the engine in fp32, checked token for token against (1)
    if not args.skip_fp32 and device.type == "cpu":
        engine = _engine_over(model, tokenizer, eos_ids, len(prompts), context, cpu_threads)
        fp32 = run_engine(engine, conversations, params)
        engine.shutdown()
        same = sum(a == b for a, b in zip(reference, fp32["outputs"], strict=True))
        report["engine_fp32_tok_s"] = round(fp32["tok_s"], 1)
        report["identical_outputs"] = f"{same}/{len(prompts)}"

    # (3) the engine in its default configuration (weights, prefix cache, chunked prefill),
    # and (4) the peer; in rounds, each round running both, so a noisy neighbour slows
    # both sides of a ratio rather than one. Medians over the rounds are reported.
    default_dtype, quantize = default_weights(settings, device, model, tokenizer, name, threads)
    report["dtype"] = str(default_dtype).removeprefix("torch.")
    report["quantize"] = quantize
    report["prefix_cache_mb"] = settings.prefix_cache_mb
    default_model = _default_model(model, default_dtype, quantize, tokenizer)

    def default_engine(rows: int, graphs: bool = True) -> Engine:
        return _engine_over(
            default_model,
            tokenizer,
            eos_ids,
            rows,
            context,
            cpu_threads,
            graphs,
            prefix_cache_mb=settings.prefix_cache_mb,
            prefill_chunk_tokens=choose_prefill_chunk(settings.prefill_chunk_tokens, device),
        )

    def warmed_engine(rows: int, graphs: bool, many: list[Any]) -> Engine:
        """A fresh engine that has served only warm-up questions under the same system
        prompt: in its prefix cache the system prompt, as in a running service, and none
        of the measured questions (nor an earlier round's)."""
        engine = default_engine(rows, graphs)
        warm = warm_up_prompts(len(many))
        if device.type == "cuda":  # the same shapes: records the CUDA graphs
            run_engine(engine, warm, params)
        else:
            run_engine(engine, warm[:2], SamplingParams(max_new_tokens=4))
        return engine

    levels = [int(c) for c in args.concurrency.split(",") if c.strip()]
    variants = [("", True)] + ([("_eager", False)] if args.compare_eager else [])
    runs: dict[str, tuple[int, bool, list[Any]]] = {"": (len(prompts), True, conversations)}
    for level in levels:
        for suffix, graphs in variants:
            runs[f"c{level}{suffix}"] = (level, graphs, build_prompts(level))
    peer = None
    if {"llama-server", "llama-cpp"} & set(args.peer):
        from bench.peers import LlamaServerPeer

        peer = LlamaServerPeer(source.location, threads, settings, context)
        report["peer"] = f"llama.cpp's llama-server, its own process, {threads} threads"
    measured: dict[str, list[dict[str, Any]]] = {name: [] for name in runs}
    served: dict[str, list[dict[str, Any]]] = {name: [] for name in runs}
    peer_rounds: list[float] = []
    for _ in range(max(1, args.rounds)):
        for name, (rows, graphs, many) in runs.items():
            engine = warmed_engine(rows, graphs, many)
            measured[name].append(run_engine(engine, many, params))
            if not name:
                report["prefix_hit_rate"] = engine.stats().extra.get("prefix_hit_rate", 0.0)
            engine.shutdown()
            if peer is not None and "llama-server" in args.peer and not name.endswith("_eager"):
                served[name].append(peer.together(many, warm_up_prompts(len(many)), n))
        if peer is not None and "llama-cpp" in args.peer:
            peer_rounds.append(peer.one_at_a_time_tok_s(conversations, warm_up_prompts(1), n))
    report["rounds"] = max(1, args.rounds)

    default_rounds = measured.pop("")
    engine_tok_s = statistics.median(r["tok_s"] for r in default_rounds)
    report["engine_tok_s"] = round(engine_tok_s, 1)
    report["engine_tok_s_rounds"] = [round(r["tok_s"], 1) for r in default_rounds]
    report["speedup"] = round(engine_tok_s / sequential_tok_s, 2)
    report["ttft_p50_s"] = round(statistics.median(r["ttft_p50_s"] for r in default_rounds), 3)
    report["ttft_p95_s"] = round(statistics.median(r["ttft_p95_s"] for r in default_rounds), 3)
    if device.type != "cpu" or args.skip_fp32:
        outputs = default_rounds[-1]["outputs"]
        same = sum(a == b for a, b in zip(reference, outputs, strict=True))
        report["identical_outputs_default_dtype"] = f"{same}/{len(prompts)}"
    for name, results in measured.items():  # extra concurrency levels (e.g. 1,16,64 on a GPU)
        report[f"{name}_tok_s"] = round(statistics.median(r["tok_s"] for r in results), 1)
        report[f"{name}_ttft_p95_s"] = round(statistics.median(r["ttft_p95_s"] for r in results), 3)
    if served[""]:  # llama-server at every level, the default count of requests first
        report |= _versus("llama_server", "", default_rounds, served[""])
        for name, results in measured.items():
            if served[name]:
                report |= _versus("llama_server", name, results, served[name])
    if peer_rounds:
        peer_tok_s = statistics.median(peer_rounds)
        report["peer_tok_s"] = round(peer_tok_s, 1)
        report["peer_tok_s_rounds"] = [round(t, 1) for t in peer_rounds]
        report["vs_peer"] = round(engine_tok_s / peer_tok_s, 2)
        report["vs_peer_rounds"] = [
            round(r["tok_s"] / t, 2) for r, t in zip(default_rounds, peer_rounds, strict=True)
        ]
        for name in measured:
            report[f"vs_peer_{name}"] = round(report[f"{name}_tok_s"] / peer_tok_s, 2)
    if "openai" in args.peer:
        from bench.remote import openai_peer

        report.update(openai_peer(settings, args.engine_url, conversations, n, threads))
        if report.get("openai_concurrent_tok_s"):
            report["vs_openai"] = round(engine_tok_s / report["openai_concurrent_tok_s"], 2)
    if "hf-cb" in args.peer:
        from engine.testing.peers import hf_continuous_batching_tok_s

        try:
            hf_cb = hf_continuous_batching_tok_s(default_model, prompts, n)
        except Exception as err:  # a peer failing must not lose the engine's figures
            report["hf_continuous_batching_error"] = f"{err.__class__.__name__}: {err}"[:300]
        else:
            report["hf_continuous_batching_tok_s"] = round(hf_cb, 1)
            report["vs_hf_continuous_batching"] = round(engine_tok_s / hf_cb, 2)

    if device.type == "cuda":
        report["peak_gpu_mb"] = peak_gpu_mb(device)
    report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return report


def _scenario(
    args: argparse.Namespace,
    model: Any,
    tokenizer: Any,
    eos_ids: list[int],
    threads: int | None,
    settings: Any,
    name: str,
    device: Any,
    gguf: str,
) -> dict[str, Any]:
    """--workload support / --long-prompt N (bench.scenarios), in the default dtype; with
    --peer llama-server the support traffic also goes through llama-server."""
    from bench import scenarios as bench_scenarios
    from engine.model.loader import choose_prefill_chunk

    dtype, quantize = default_weights(settings, device, model, tokenizer, name, threads or 1)
    default_model = _default_model(model, dtype, quantize, tokenizer)

    def make(rows: int, context: int, **options: Any) -> Engine:
        return _engine_over(default_model, tokenizer, eos_ids, rows, context, threads, **options)

    report: dict[str, Any] = {
        "model": name,
        "device": str(device),
        "dtype": str(dtype).removeprefix("torch."),
        "quantize": quantize,
    }
    if args.workload == "support":
        peer = None
        if "llama-server" in args.peer:
            from bench.peers import LlamaServerPeer

            peer = LlamaServerPeer(gguf, threads or 1, settings, 2048)
        report |= bench_scenarios.support_workload(
            make, tokenizer, args.requests, args.new_tokens, peer=peer
        )
    if args.long_prompt:
        chunk = choose_prefill_chunk(settings.prefill_chunk_tokens, device) or 512
        report |= bench_scenarios.long_prompt(make, chunk, args.long_prompt)
    report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return report


def default_weights(
    settings: Any, device: Any, model: Any, tokenizer: Any, name: str, threads: int
) -> tuple[Any, str]:
    """The served configuration's (dtype, quantization), chosen as start_engine chooses it."""
    from engine.model.cpu_path import choose_cpu_path
    from engine.model.loader import choose_dtype
    from engine.model.quantize import choose_quantization

    if device.type == "cpu" and settings.dtype == "auto" and settings.quantize == "auto":
        rows = settings.max_batch or 16
        path = choose_cpu_path(
            model, tokenizer, name=name, rows=rows, threads=threads, cache_dir=settings.cache_dir
        )
        return choose_dtype(path.dtype, device), path.quantize
    dtype = choose_dtype(settings.dtype, device)
    return dtype, choose_quantization(settings.quantize, device, dtype)


def _default_model(model: Any, dtype: Any, quantize: str, tokenizer: Any) -> Any:
    """A copy of `model` in the default dtype, int8-quantized when `quantize` says so."""
    import copy

    from engine.model.quantize import calibration_prompts, quantize_int8
    from engine.testing.reference import clone_as

    default = clone_as(model, str(dtype).removeprefix("torch."))
    if quantize == "int8":
        default = copy.deepcopy(default) if default is model else default
        default = quantize_int8(default, calibration_prompts(tokenizer))
    return default
