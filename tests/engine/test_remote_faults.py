"""RemoteEngine against a real loopback HTTP server that misbehaves on purpose: busy
statuses, dropped and stalled streams, error events, cancel, limits, unreachable servers."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from deskhand.settings import Settings
from engine import EngineOverloaded, EngineUnreachable, FinishReason, PromptTooLong, SamplingParams
from engine.protocol import GenerationEngine, GenerationHandle
from engine.remote import RemoteConfig, RemoteEngine, start_remote_engine
from engine.remote.llama_server import free_port
from engine.remote.tokenizer import TextTokenizer
from tests.engine.fake_openai import FakeOpenAI
from tests.helpers import run_python, wait_until

ASK = [{"role": "user", "content": "Say hello."}]


def remote(fake: FakeOpenAI, tokenizer: TextTokenizer, **config: object) -> RemoteEngine:
    values: dict[str, object] = {"url": fake.url, "model": "fake-model", "timeout_s": 5.0}
    values.update(config)
    return RemoteEngine(RemoteConfig(**values), tokenizer, context_window=2048)  # type: ignore[arg-type]


@pytest.fixture
def engine(fake: FakeOpenAI, tokenizer: TextTokenizer) -> Iterator[RemoteEngine]:
    eng = remote(fake, tokenizer, api_key="sekret")
    yield eng
    eng.shutdown()


def test_streams_deltas_that_join_to_the_text_and_sends_the_openai_request(
    fake: FakeOpenAI, engine: RemoteEngine
) -> None:
    handle = engine.submit(ASK, SamplingParams(max_new_tokens=20, seed=3))
    deltas = list(handle)
    result = handle.result(5)
    assert deltas == ["Hello", " there", ", friend", "!"]
    assert result.text == "".join(deltas) == "Hello there, friend!"
    assert result.finish_reason is FinishReason.STOP and result.error is None
    # no usage from this server: both counts come from the tokenizer
    assert result.prompt_tokens == engine.count_tokens(ASK) > 5
    assert result.output_tokens == len(engine.tokenizer.encode(result.text, False)) > 0
    assert result.ttft_s is not None and 0 <= result.queue_wait_s <= result.ttft_s
    assert result.total_s >= result.ttft_s and result.engine_s == pytest.approx(result.total_s)
    sent = fake.requests[0]
    assert sent.body["stream"] is True and sent.body["model"] == "fake-model"
    assert sent.body["stream_options"] == {"include_usage": True}
    assert sent.body["max_tokens"] == 20 and sent.body["seed"] == 3
    assert sent.body["messages"] == ASK
    assert sent.headers["Authorization"] == "Bearer sekret"
    stats = engine.stats()
    assert (stats.running, stats.requests_finished) == (0, 1)
    assert stats.tokens_generated == result.output_tokens


def test_usage_reported_by_the_server_wins(fake: FakeOpenAI, engine: RemoteEngine) -> None:
    fake.mode = "usage"
    result = engine.generate(ASK)
    assert (result.prompt_tokens, result.output_tokens) == (7, 4)


def test_length_finish_and_ignore_eos_bias(fake: FakeOpenAI, engine: RemoteEngine) -> None:
    fake.mode = "length"
    result = engine.generate(ASK, SamplingParams(max_new_tokens=4, ignore_eos=True))
    assert result.finish_reason is FinishReason.LENGTH
    body = fake.requests[0].body
    assert body["ignore_eos"] is True
    assert set(body["logit_bias"]) == {str(t) for t in engine.chat.stop_token_ids}


@pytest.mark.parametrize("status", ["429", "503"])
def test_busy_server_raises_overloaded_at_submit(
    fake: FakeOpenAI, engine: RemoteEngine, status: str
) -> None:
    fake.mode = status
    with pytest.raises(EngineOverloaded):
        engine.submit(ASK)
    assert engine.stats().running == 0  # the slot was given back


def test_context_error_becomes_prompt_too_long(fake: FakeOpenAI, engine: RemoteEngine) -> None:
    fake.mode = "context"
    with pytest.raises(PromptTooLong):
        engine.submit(ASK)


def test_prompt_longer_than_the_window_is_refused_before_sending(
    fake: FakeOpenAI, engine: RemoteEngine
) -> None:
    with pytest.raises(PromptTooLong):
        engine.submit([{"role": "user", "content": "word " * 3000}])
    assert fake.requests == []


@pytest.mark.parametrize(
    ("mode", "kept"), [("drop", "Hello there"), ("error_event", "Hello there"), ("no_finish", "")]
)
def test_a_broken_stream_ends_the_answer_with_error_not_a_hang(
    fake: FakeOpenAI, engine: RemoteEngine, mode: str, kept: str
) -> None:
    fake.mode = mode
    handle = engine.submit(ASK)
    text = "".join(handle)  # the iterator ends
    result = handle.result(5)
    assert result.finish_reason is FinishReason.ERROR
    assert result.error
    assert text == result.text
    assert result.text.startswith(kept)
    assert engine.stats().running == 0


def test_a_stalled_stream_hits_the_read_timeout(fake: FakeOpenAI, tokenizer: TextTokenizer) -> None:
    fake.mode = "stall"
    eng = remote(fake, tokenizer, timeout_s=0.5)
    try:
        started = time.monotonic()
        result = eng.generate(ASK)
        assert time.monotonic() - started < 5
        assert result.finish_reason is FinishReason.ERROR
        assert result.error and "timed out" in result.error
        assert result.text == "Hello there, friend!"  # what arrived is kept
    finally:
        eng.shutdown()


def test_the_request_deadline_gives_timeout(fake: FakeOpenAI, engine: RemoteEngine) -> None:
    fake.mode = "endless"
    result = engine.generate(ASK, SamplingParams(timeout_s=0.5))
    assert result.finish_reason is FinishReason.TIMEOUT
    assert result.text == "Hello there, friend!"


def test_cancel_closes_the_stream_and_the_server_sees_the_client_leave(
    fake: FakeOpenAI, engine: RemoteEngine
) -> None:
    fake.mode = "endless"
    handle = engine.submit(ASK)
    first = next(iter(handle))
    handle.cancel()
    result = handle.result(5)
    assert first == "Hello"
    assert result.finish_reason is FinishReason.CANCELLED
    wait_until(lambda: fake.requests[0].client_left, interval=0.02)
    assert fake.requests[0].client_left
    assert engine.stats().running == 0


def test_our_concurrency_limit_raises_overloaded(
    fake: FakeOpenAI, tokenizer: TextTokenizer
) -> None:
    fake.mode = "endless"
    eng = remote(fake, tokenizer, max_running=2)
    try:
        first, second = eng.submit(ASK), eng.submit(ASK)
        assert eng.stats().running == 2
        with pytest.raises(EngineOverloaded):
            eng.submit(ASK)
        first.cancel()
        assert first.result(5).finish_reason is FinishReason.CANCELLED
        third = eng.submit(ASK)  # a slot is free again
        assert third.queue_position is None and not third.done
    finally:
        eng.shutdown()  # cancels what is still streaming
    assert second.result(1).finish_reason is FinishReason.CANCELLED
    assert third.result(1).finish_reason is FinishReason.CANCELLED


def test_a_refused_connection_is_a_clear_error(tokenizer: TextTokenizer) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    eng = RemoteEngine(RemoteConfig(url=url, model="m", timeout_s=2), tokenizer, context_window=512)
    try:
        with pytest.raises(EngineUnreachable, match="ENGINE_URL"):
            eng.submit(ASK)
        assert eng.stats().running == 0
    finally:
        eng.shutdown()
    settings = Settings(_env_file=None, engine_url=url)  # type: ignore[call-arg]
    with pytest.raises(EngineUnreachable, match=f"ENGINE_URL={url}"):
        start_remote_engine(settings.engine_options())


def test_startup_asks_the_server_for_its_model_and_window(fake: FakeOpenAI) -> None:
    fake.models = [{"id": "first", "max_model_len": 1024}, {"id": "second"}]
    settings = Settings(_env_file=None, engine_url=fake.url + "/v1/")  # type: ignore[call-arg]
    eng = start_remote_engine(settings.engine_options())
    try:
        assert eng.info.name == "first" and eng.context_window == 1024
        assert eng.config.url == fake.url
        assert isinstance(eng, GenerationEngine)
        handle = eng.submit(ASK)
        assert isinstance(handle, GenerationHandle)
        assert handle.result(5).finish_reason is FinishReason.STOP
        assert fake.requests[0].body["model"] == "first"
    finally:
        eng.shutdown()
    chosen = start_remote_engine(
        settings.model_copy(update={"engine_model": "second"}).engine_options()
    )
    assert chosen.info.name == "second" and chosen.context_window == settings.max_context_tokens
    chosen.shutdown()


def test_startup_names_the_api_key_when_refused(fake: FakeOpenAI) -> None:
    fake.mode = "401"
    settings = Settings(_env_file=None, engine_url=fake.url, engine_api_key="wrong")  # type: ignore[call-arg]
    with pytest.raises(EngineUnreachable, match="ENGINE_API_KEY"):
        start_remote_engine(settings.engine_options())
    right = settings.model_copy(update={"engine_api_key": SecretStr("right-key")})
    eng = start_remote_engine(right.engine_options())
    eng.shutdown()


def test_the_remote_path_imports_neither_torch_nor_transformers(fake: FakeOpenAI) -> None:
    script = (
        "import sys\n"
        "from deskhand.settings import Settings\n"
        "from engine import start_engine\n"
        f"settings = Settings(_env_file=None, engine_url={fake.url!r})\n"
        "engine = start_engine(settings.engine_options())\n"
        "text = engine.generate([{'role': 'user', 'content': 'hi'}]).text\n"
        "engine.shutdown()\n"
        "print(text, 'torch' in sys.modules, 'transformers' in sys.modules)\n"
    )
    out = run_python(script, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-3:] == ["friend!", "False", "False"]
