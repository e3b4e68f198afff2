"""The control API refuses callers it cannot trust: foreign Host headers (DNS rebinding),
cross-origin pages, non-JSON POSTs; the tokens in /_sandbox/state go to loopback callers only."""

from __future__ import annotations

import http.client
import json
import socket
from typing import Any

import pytest

from slackemu import Sandbox
from slackemu.control_api import trusted_host


def request(
    host: str,
    port: int,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> tuple[int, dict[str, Any]]:
    connection = http.client.HTTPConnection(host, port, timeout=5)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        connection.close()


def test_state_gives_tokens_to_a_same_origin_loopback_caller(sandbox: Sandbox) -> None:
    status, state = request("127.0.0.1", sandbox.port, "GET", "/_sandbox/state")
    assert status == 200 and state["tokens"]["signing_secret"] == sandbox.signing_secret
    origin = f"http://127.0.0.1:{sandbox.port}"
    status, state = request(
        "127.0.0.1", sandbox.port, "GET", "/_sandbox/state", headers={"Origin": origin}
    )
    assert status == 200 and state["tokens"]["bot"] == sandbox.bot_token


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "rebind.evil.example:8765"},  # DNS rebinding: the attacker's domain, our IP
        {"Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
    ],
)
def test_untrusted_callers_get_no_state_and_change_nothing(
    sandbox: Sandbox, headers: dict[str, str]
) -> None:
    status, body = request("127.0.0.1", sandbox.port, "GET", "/_sandbox/state", headers=headers)
    assert status == 403 and "tokens" not in body
    assert sandbox.signing_secret not in json.dumps(body)
    for path in ("/_sandbox/deliveries", "/_sandbox/calls"):
        assert request("127.0.0.1", sandbox.port, "GET", path, headers=headers)[0] == 403
    post = {"user": "ada", "channel": "support", "text": "planted"}
    status, _ = request(
        "127.0.0.1",
        sandbox.port,
        "POST",
        "/_sandbox/post",
        headers={"Content-Type": "application/json", **headers},
        body=json.dumps(post).encode(),
    )
    assert status == 403
    assert sandbox.messages("support") == []


def test_a_form_post_without_origin_is_refused(sandbox: Sandbox) -> None:
    status, body = request(
        "127.0.0.1",
        sandbox.port,
        "POST",
        "/_sandbox/post",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=b"user=ada&channel=support&text=planted",
    )
    assert status == 415 and body["error"] == "json_only"
    assert request("127.0.0.1", sandbox.port, "POST", "/_sandbox/reset")[0] == 415
    assert sandbox.messages("support") == []


def test_trusted_hosts() -> None:
    assert trusted_host("localhost:8765", "127.0.0.1")
    assert trusted_host("127.0.0.1:8765", "127.0.0.1")
    assert trusted_host("[::1]:8765", "127.0.0.1")
    assert trusted_host("192.168.1.20:8765", "0.0.0.0")
    assert trusted_host("devbox.internal:8765", "devbox.internal")
    assert not trusted_host("devbox.internal:8765", "127.0.0.1")
    assert not trusted_host("127.0.0.1.evil.example", "127.0.0.1")
    assert not trusted_host("", "127.0.0.1")


def own_lan_address() -> str | None:
    """This machine's address on a non-loopback interface (a UDP connect sends nothing)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
            address = str(probe.getsockname()[0])
        except OSError:
            return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def test_a_non_loopback_caller_sees_state_without_tokens(make_sandbox) -> None:
    address = own_lan_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to call from")
    sb = make_sandbox(host="0.0.0.0")
    status, state = request(address, sb.port, "GET", "/_sandbox/state")
    assert status == 200 and state["tokens"] is None and state["channels"]
    assert sb.signing_secret not in json.dumps(state)


def test_serving_beyond_loopback_is_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    from slackemu.main import serve

    with socket.socket() as taken:  # the port is taken: serve warns first, then gives up
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        assert serve(host="0.0.0.0", port=taken.getsockname()[1]) == 1
    assert any(
        r.levelname == "WARNING" and "listens on 0.0.0.0" in r.getMessage() for r in caplog.records
    )
    caplog.clear()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert serve(host="127.0.0.1", port=taken.getsockname()[1]) == 1
    assert not [r for r in caplog.records if "listens on" in r.getMessage()]
