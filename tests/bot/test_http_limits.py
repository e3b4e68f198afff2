"""HTTP mode under hostile clients (loopback only, bounded): malformed or oversized
Content-Length gets a clean 4xx with no traceback logged, and hundreds of half-sent headers
neither stop a real signed event from being acked within Slack's 3 s nor stay open forever."""

from __future__ import annotations

import logging
import socket
import time

import pytest

from tests.bot.helpers import answer_text
from tests.bot.test_http_mode import start_http

SLOW_CLIENTS = 300


def raw_request(port: int, head: bytes, body: bytes = b"", timeout: float = 5.0) -> bytes:
    """Send raw bytes and read the response's first line (or b'' if the server hung up)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head + body)
        data = b""
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        return data.split(b"\r\n", 1)[0]


def head_with_length(length: str) -> bytes:
    return (
        b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: " + length.encode() + b"\r\n\r\n"
    )


@pytest.mark.parametrize(
    ("length", "body", "status"),
    [
        ("-1", b"x" * 4096, b"400"),
        ("abc", b"{}", b"400"),
        ("1e3", b"{}", b"400"),
        (str(2 << 20), b"", b"413"),
        ("4", b"\xff\xfe\xfd\xfc", b"401"),  # not UTF-8, and unsigned: refused first
    ],
)
def test_bad_content_length_gets_a_clean_4xx_and_no_traceback(
    make_workspace, run_bot, script, scripted_engine, caplog, length, body, status
):
    _, bot, _ = start_http(make_workspace, run_bot, scripted_engine)
    caplog.set_level(logging.DEBUG)
    line = raw_request(bot.http_server.port, head_with_length(length), body)
    assert line.startswith(b"HTTP/1.1 " + status), line
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert script.prompts == []


def test_a_chunked_body_over_the_cap_is_refused(make_workspace, run_bot, scripted_engine):
    _, bot, _ = start_http(make_workspace, run_bot, scripted_engine)
    head = b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunk = b"%x\r\n%s\r\n" % (256 << 10, b"a" * (256 << 10))
    line = raw_request(bot.http_server.port, head, chunk * 5 + b"0\r\n\r\n")
    assert line.startswith(b"HTTP/1.1 413"), line


def test_slow_clients_do_not_stop_a_signed_event_and_are_dropped(
    make_workspace, run_bot, script, scripted_engine
):
    script.answer = lambda turns: "Still here."
    sb, bot, _ = start_http(make_workspace, run_bot, scripted_engine, http_timeout_s=2)
    port = bot.http_server.port
    slow: list[socket.socket] = []
    try:
        for _ in range(SLOW_CLIENTS):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            slow.append(sock)
        started = time.monotonic()
        ts = sb.mention("ada", "support", "are you there?")
        delivery = sb.wait_for(
            lambda: next((d for d in sb.deliveries("events_api") if d.outcome != "pending"), None),
            timeout=10,
        )
        acked_in = time.monotonic() - started
        assert delivery.outcome == "acked" and delivery.transport == "http"
        assert acked_in < 3.0, f"acked after {acked_in:.2f} s"
        sb.wait_for_reply("support", ts, timeout=20)
        assert answer_text(sb, "support", ts) == "Still here."
        # The idle half-requests are closed by the server (timeout 2 s, checked every 1 s).
        deadline = time.monotonic() + 10
        closed = 0
        for sock in slow:
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                closed += sock.recv(1) == b""
            except ConnectionResetError:
                closed += 1
            except TimeoutError:
                break
        assert closed == SLOW_CLIENTS
    finally:
        for sock in slow:
            sock.close()
