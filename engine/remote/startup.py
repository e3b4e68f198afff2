"""Building a RemoteEngine from the engine options: check the server answers, pick the model, load
only the tokenizer. Fails with a message naming ENGINE_URL when the server is not there."""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx

from engine.errors import EngineUnreachable
from engine.options import EngineOptions
from engine.remote.client import RemoteConfig, RemoteEngine
from engine.remote.tokenizer import load_tokenizer

logger = logging.getLogger(__name__)


def base_url(engine_url: str) -> str:
    """ENGINE_URL with or without the /v1 suffix OpenAI clients use."""
    url = engine_url.strip().rstrip("/")
    return url.removesuffix("/v1")


def list_models(url: str, api_key: str | None, timeout_s: float) -> list[dict[str, Any]]:
    """GET /v1/models, or EngineUnreachable saying what went wrong and how to fix it."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        response = httpx.get(f"{url}/v1/models", headers=headers, timeout=timeout_s)
    except httpx.HTTPError as err:
        raise EngineUnreachable(
            f"ENGINE_URL={url}: cannot reach the server ({err.__class__.__name__}: {err}). "
            "Is it running and listening there? Unset ENGINE_URL to use the built-in model"
        ) from None
    if response.status_code in (401, 403):
        raise EngineUnreachable(
            f"ENGINE_URL={url} refused the API key (HTTP {response.status_code}): "
            "set ENGINE_API_KEY to the key the server expects"
        )
    if response.status_code != 200:
        raise EngineUnreachable(
            f"ENGINE_URL={url}/v1/models answered HTTP {response.status_code}: "
            "is this an OpenAI-compatible server?"
        )
    try:
        models = response.json().get("data") or []
    except ValueError:
        models = None
    if not isinstance(models, list):
        raise EngineUnreachable(f"ENGINE_URL={url}/v1/models did not answer a model list")
    return [m for m in models if isinstance(m, dict) and m.get("id")]


def start_remote_engine(options: EngineOptions) -> RemoteEngine:
    started = time.perf_counter()
    assert options.engine_url, "start_remote_engine needs ENGINE_URL"
    url = base_url(options.engine_url)
    api_key = options.engine_api_key
    models = list_models(url, api_key, options.engine_timeout_s)
    chosen = _choose_model(models, options.engine_model, url)
    tokenizer = load_tokenizer(options.engine_tokenizer, options.cache_dir)
    reported = chosen.get("max_model_len")  # vLLM and SGLang report the served window
    context = options.max_context_tokens
    if isinstance(reported, int) and reported > 0:
        context = min(context, reported)
    config = RemoteConfig(
        url=url,
        model=str(chosen["id"]),
        api_key=api_key,
        timeout_s=options.engine_timeout_s,
        max_running=options.engine_max_concurrency,
        default_timeout_s=options.request_timeout_s,
    )
    engine = RemoteEngine(config, tokenizer, context_window=context)
    logger.info(
        "remote engine %s at %s (%d at once, context %d, tokenizer %s), ready in %.1f s",
        config.model,
        url,
        config.max_running,
        context,
        options.engine_tokenizer or "packaged SmolLM2",
        time.perf_counter() - started,
    )
    if not options.engine_tokenizer and "smollm2" not in config.model.lower():
        logger.warning(
            "ENGINE_TOKENIZER is not set: token counts use the packaged SmolLM2 tokenizer, "
            "which is approximate for %s; set ENGINE_TOKENIZER to its tokenizer",
            config.model,
        )
    return engine


def _choose_model(models: list[dict[str, Any]], wanted: str, url: str) -> dict[str, Any]:
    names = [str(m["id"]) for m in models]
    if wanted:
        for model in models:
            if model["id"] == wanted:
                return model
        logger.warning(
            "ENGINE_MODEL=%r is not in %s/v1/models (%s); asking for it anyway", wanted, url, names
        )
        return {"id": wanted}
    if not models:
        raise EngineUnreachable(f"ENGINE_URL={url} serves no model (/v1/models is empty)")
    return models[0]
