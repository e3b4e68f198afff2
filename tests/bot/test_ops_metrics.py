"""The operations endpoint of a real bot against the local workspace: /metrics scraped over
HTTP and parsed with prometheus_client's parser after real answers, clicks and a 429, and
/healthz and /readyz in the ready and not-ready states, in Socket Mode and in HTTP mode."""

from __future__ import annotations

import json
import shutil
import socket
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine

from bot.slack.blocks import FEEDBACK_ACTION
from deskhand.settings import SettingsError
from engine.testing import make_tiny_engine
from tests.bot.helpers import answers, find_element
from tests.bot.scripted import ScriptedRunner, make_scripted_engine, new_script
from tests.bot.test_http_mode import start_http
from tests.bot.test_knowledge import FakeDesk, kb_answerer

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as err:
        return int(err.code), err.read()


def scrape(bot) -> tuple[Samples, dict[str, str]]:
    """Every sample on the bot's /metrics, by (name, sorted labels); and each family's type."""
    status, body = get(f"http://127.0.0.1:{bot.ops_server.port}/metrics")
    assert status == 200
    samples: Samples = {}
    types: dict[str, str] = {}
    for family in text_string_to_metric_families(body.decode()):
        types[family.name] = family.type
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples, types


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """Sum over every label set that includes `labels`."""
    return sum(
        v
        for (n, have), v in samples.items()
        if n == name and all((k, want) in have for k, want in labels.items())
    )


def probe(base: str, path: str) -> tuple[int, dict[str, Any]]:
    status, body = get(base + path)
    return status, json.loads(body)


def test_metrics_after_real_answers_clicks_and_a_429(workspace, run_bot, script, scripted_engine):
    script.answer = lambda turns: "Reset it from the settings page."
    bot = run_bot(workspace, scripted_engine, metrics_port=0, cost_per_hour=3.6)
    model = scripted_engine.info.name
    before, _ = scrape(bot)  # the scripted engine is shared by the session's tests
    workspace.inject("assistant.threads.setStatus", status=429, retry_after=1)
    asked = [workspace.mention("ada", "support", f"how do I reset it? ({i})") for i in range(3)]
    for ts in asked:
        workspace.wait_for_reply("support", ts, timeout=30)
    workspace.wait_for(lambda: bot.services.pool.active == 0 or None, timeout=20)
    message = answers(workspace, "support", asked[0])[-1]
    button = find_element(message, FEEDBACK_ACTION)
    assert button is not None
    value_up = button["positive_button"]["value"]
    assert workspace.click("grace", "support", message["ts"], FEEDBACK_ACTION, value=value_up)[
        "acked"
    ]
    workspace.wait_for(
        lambda: value(scrape(bot)[0], "deskhand:feedback_total", vote="up") == 1 or None
    )
    after, types = scrape(bot)

    def grew(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    # The bot: every mention received and acked over Socket Mode, ack latency observed.
    assert value(after, "deskhand:events_received_total", type="events_api") >= 3
    acked = value(after, "deskhand:events_acked_total", type="events_api")
    assert acked >= 3
    assert value(after, "deskhand:ack_latency_seconds_count", type="events_api") == acked
    assert value(after, "deskhand:events_acked_total", type="interactive") == 1  # the click
    # Answers by route and outcome; one cost observation each (engine time at 3.6 an hour).
    assert value(after, "deskhand:answers_total", route="assistant", outcome="stop") == 3
    assert value(after, "deskhand:answer_cost_count", currency="USD") == 3
    assert value(after, "deskhand:answer_cost_sum", currency="USD") > 0
    assert value(after, "deskhand:answer_time_to_first_chunk_seconds_count") == 3
    assert types["deskhand:answer_duration_seconds"] == "histogram"
    # The 429 was counted for its method (retried: all 3 were answered).
    method = "assistant.threads.setStatus"
    assert value(after, "deskhand:slack_api_rate_limited_total", method=method) == 1
    assert value(after, "deskhand:jobs_resumed_total") == 0
    # The engine under vLLM's names and shapes, labelled with the model.
    assert types["vllm:time_to_first_token_seconds"] == "histogram"
    assert types["vllm:num_requests_running"] == "gauge"
    assert types["vllm:generation_tokens"] == "counter"
    assert grew("vllm:time_to_first_token_seconds_count", model_name=model) == 3
    assert grew("vllm:e2e_request_latency_seconds_count", model_name=model) == 3
    assert grew("vllm:request_queue_time_seconds_count", model_name=model) == 3
    written = len(b"Reset it from the settings page.")
    assert grew("vllm:generation_tokens_total", model_name=model) >= 3 * written
    assert grew("vllm:inter_token_latency_seconds_count", model_name=model) >= 3 * (written - 1)
    assert grew("vllm:prompt_tokens_total", model_name=model) > 0
    inf = value(after, "vllm:time_to_first_token_seconds_bucket", model_name=model, le="+Inf")
    assert inf == value(after, "vllm:time_to_first_token_seconds_count", model_name=model)
    assert value(after, "vllm:num_requests_running", model_name=model) == 0
    assert 0 <= value(after, "vllm:kv_cache_usage_perc", model_name=model) <= 1
    assert value(after, "deskhand:engine_healthy", model_name=model) == 1


def test_refusals_and_busy_replies_are_counted(workspace, run_bot, script, scripted_engine):
    script.answer = lambda turns: "Fine."
    bot = run_bot(workspace, scripted_engine, metrics_port=0, user_daily_limit=1)
    first = workspace.mention("ada", "support", "one")
    workspace.wait_for_reply("support", first, timeout=20)
    workspace.wait_for(lambda: bot.services.pool.active == 0 or None, timeout=20)
    second = workspace.mention("ada", "support", "two")
    workspace.wait_for_reply("support", second, timeout=20)
    samples, _ = scrape(bot)
    assert value(samples, "deskhand:refusals_total", reason="budget") == 1
    assert value(samples, "deskhand:answers_total", route="assistant", outcome="stop") == 1
    assert value(samples, "deskhand:busy_replies_total") == 0


def test_a_full_pool_counts_a_busy_reply(workspace, run_bot):
    engine = make_scripted_engine(max_running=1, max_queue=1)  # a pool of two answers
    try:
        script = new_script(engine, answer=lambda turns: "word " * 40, step_delay_s=0.01)
        bot = run_bot(workspace, engine, metrics_port=0)
        first = workspace.mention("ada", "support", "first")
        assert script.started.wait(10)
        second = workspace.mention("grace", "support", "second")
        workspace.wait_for(
            lambda: "waiting in line" in workspace.assistant_status("support", second) or None,
            timeout=10,
        )
        third = workspace.mention("linus", "support", "third")
        for ts in (first, second, third):
            workspace.wait_for_reply("support", ts, timeout=30)
        workspace.wait_for(lambda: bot.services.pool.active == 0 or None, timeout=20)
        samples, _ = scrape(bot)
    finally:
        engine.shutdown()
    assert value(samples, "deskhand:busy_replies_total") == 1
    assert value(samples, "deskhand:refusals_total", reason="busy") == 1
    assert total(samples, "deskhand:answers_total") == 2


def test_a_hand_off_is_counted(workspace, run_bot, scripted_engine):
    bot = run_bot(
        workspace,
        scripted_engine,
        answerer=kb_answerer(FakeDesk()),
        metrics_port=0,
        escalation_channel=workspace.channel_id("general"),
    )
    ts = workspace.mention("ada", "support", "what is the meaning of life?")
    reply = workspace.wait_for_reply("support", ts, timeout=20)
    button = find_element(reply, "deskhand_handoff")
    assert button is not None
    workspace.click("grace", "support", reply["ts"], "deskhand_handoff", value=button["value"])
    workspace.wait_for(
        lambda: value(scrape(bot)[0], "deskhand:handoffs_total") == 1 or None, timeout=10
    )
    workspace.click("ada", "support", reply["ts"], "deskhand_handoff", value=button["value"])
    workspace.wait_for(lambda: workspace.ephemerals("ada", "support") or None, timeout=10)
    assert value(scrape(bot)[0], "deskhand:handoffs_total") == 1  # the second click: no hand-off


def test_health_and_readiness_in_socket_mode(workspace, run_bot, scripted_engine, tmp_path):
    bot = run_bot(workspace, scripted_engine, metrics_port=0, data_dir=tmp_path / "store")
    base = f"http://127.0.0.1:{bot.ops_server.port}"
    status, live = probe(base, "/healthz")
    assert (status, live["ok"], live["engine_alive"]) == (200, True, True)
    status, ready = probe(base, "/readyz")
    assert (status, ready["ok"], ready["slack_socket"]) == (200, True, "connected")
    assert ready["store"].startswith("ok")
    # The store goes away: not ready (still alive: a restart would not bring it back).
    bot.services.store.engine.dispose()
    shutil.rmtree(tmp_path / "store")
    status, ready = probe(base, "/readyz")
    assert (status, ready["ok"]) == (503, False)
    assert ready["store"].startswith("unreachable")
    assert probe(base, "/healthz")[0] == 200
    (tmp_path / "store").mkdir()
    assert probe(base, "/readyz")[0] == 200
    # The Slack socket closes: not ready.
    bot.socket_mode.close()
    status, ready = probe(base, "/readyz")
    assert (status, ready["slack_socket"]) == (503, "disconnected")
    assert get(base + "/nothing")[0] == 404


def test_a_store_that_never_answers_is_not_ready_within_the_timeout(
    workspace, run_bot, scripted_engine
):
    bot = run_bot(workspace, scripted_engine, metrics_port=0)
    base = f"http://127.0.0.1:{bot.ops_server.port}"
    store = bot.services.store
    real = store.engine
    with socket.socket() as silent:  # accepts the connection, never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        store.engine = create_engine(
            f"postgresql+psycopg://deskhand@127.0.0.1:{silent.getsockname()[1]}/deskhand"
        )
        try:
            started = time.monotonic()
            status, ready = probe(base, "/readyz")
            assert time.monotonic() - started < 5
            assert (status, ready["store"]) == (503, "not answering within 2 s")
            status, ready = probe(base, "/readyz")  # no second query piles up behind it
            assert (status, ready["store"]) == (
                503,
                "not answering (the last check is still waiting)",
            )
        finally:
            store.engine = real
    workspace.wait_for(lambda: probe(base, "/readyz")[0] == 200 or None, timeout=10)


def test_a_dead_engine_fails_both_probes(workspace, run_bot):
    engine = make_tiny_engine(max_running=2, max_queue=2)
    try:
        bot = run_bot(workspace, engine, metrics_port=0)
        base = f"http://127.0.0.1:{bot.ops_server.port}"
        assert probe(base, "/readyz")[0] == 200
        engine.shutdown()
        status, live = probe(base, "/healthz")
        assert (status, live["engine_alive"]) == (503, False)
        assert probe(base, "/readyz")[0] == 503
    finally:
        engine.shutdown()


def test_a_stalled_engine_fails_both_probes_until_the_step_ends(workspace, run_bot):
    engine = make_tiny_engine(
        max_running=2, max_queue=2, runner_class=ScriptedRunner, context_window=64, stall_s=0.3
    )
    try:
        script = new_script(engine, answer=lambda turns: "slow", step_delay_s=1.5)
        bot = run_bot(workspace, engine, metrics_port=0, max_new_tokens=20)
        base = f"http://127.0.0.1:{bot.ops_server.port}"
        workspace.mention("ada", "support", "take your time")
        assert script.started.wait(10)
        live = workspace.wait_for(
            lambda: ((r := probe(base, "/healthz"))[0] == 503 and r[1]) or None, timeout=5
        )
        assert "stalled" in live["engine_problem"]
        assert probe(base, "/readyz")[0] == 503
        samples, _ = scrape(bot)
        assert value(samples, "deskhand:engine_healthy", model_name=engine.info.name) == 0
    finally:
        engine.shutdown(timeout=10)


def test_http_mode_has_readyz_on_both_ports_and_counts_requests(
    make_workspace, run_bot, script, scripted_engine
):
    script.answer = lambda turns: "Over HTTP."
    sb, bot, base = start_http(make_workspace, run_bot, scripted_engine, metrics_port=0)
    ops = f"http://127.0.0.1:{bot.ops_server.port}"
    for where in (base, ops):
        status, ready = probe(where, "/readyz")
        assert (status, ready["ok"], ready["slack_socket"]) == (200, True, "http mode")
        assert probe(where, "/healthz")[0] == 200
    ts = sb.mention("ada", "support", "hello over http")
    sb.wait_for_reply("support", ts, timeout=20)
    sb.wait_for(lambda: bot.services.pool.active == 0 or None, timeout=20)
    samples, _ = scrape(bot)
    assert value(samples, "deskhand:events_received_total", type="events_api") >= 1
    assert value(samples, "deskhand:events_acked_total", type="events_api") >= 1
    assert value(samples, "deskhand:answers_total", route="assistant", outcome="stop") == 1


def test_no_metrics_port_no_endpoint(workspace, run_bot, scripted_engine):
    bot = run_bot(workspace, scripted_engine)
    assert bot.ops_server is None
    assert b"deskhand:answers_total" in bot.services.ops.metrics.exposition()


def test_a_taken_metrics_port_is_a_start_up_error_naming_it(workspace, run_bot, scripted_engine):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SettingsError, match=f"METRICS_PORT={port}"):
            run_bot(workspace, scripted_engine, metrics_port=port)
