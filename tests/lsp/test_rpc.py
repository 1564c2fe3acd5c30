"""msgpack-RPC framing, addresses and connections (denoiser/rpc.py), over in-memory socket pairs."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys

import msgpack
import pytest
from mercury.denoiser.rpc import (
    NOTIFY,
    REQUEST,
    RESPONSE,
    Address,
    Connection,
    ConnectionLost,
    Decoder,
    RpcError,
    is_loopback_host,
    pack,
    parse_address,
)


def test_messages_survive_any_split_of_the_stream():
    messages = [[REQUEST, 1, "complete", [{"prefix": "def f(", "suffix": "é😋"}]], [NOTIFY, "cancel", [1]]]
    stream = b"".join(pack(m) for m in messages)
    decoder = Decoder()
    received = []
    for i in range(len(stream)):  # one byte at a time: no message boundary is assumed
        received += decoder.feed(stream[i : i + 1])
    assert received == messages


@pytest.mark.parametrize("bad", [[7, 1, 2], {"a": 1}, [RESPONSE, 1, None], []])
def test_malformed_messages_are_rejected(bad):
    with pytest.raises(ValueError):
        Decoder().feed(msgpack.packb(bad))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("unix:/run/m.sock", Address(path="/run/m.sock")),
        ("/tmp/engine.sock", Address(path="/tmp/engine.sock")),
        ("127.0.0.1:7777", Address(host="127.0.0.1", port=7777)),
        ("tcp:localhost:1", Address(host="localhost", port=1)),
        ("[::1]:8000", Address(host="::1", port=8000)),
        (":9000", Address(host="127.0.0.1", port=9000)),
    ],
)
def test_parse_address(text: str, expected: Address):
    assert parse_address(text) == expected


@pytest.mark.parametrize("text", ["nonsense", "host:99999", "host:port"])
def test_bad_addresses(text: str):
    with pytest.raises(ValueError, match="bad engine address"):
        parse_address(text)


def test_loopback():
    assert parse_address("default").is_unix
    assert all(map(is_loopback_host, ["127.0.0.1", "::1", "localhost", "127.1.2.3"]))
    assert not any(map(is_loopback_host, ["0.0.0.0", "10.0.0.1", "example.org"]))


async def _pair(handler=None, on_notify=None) -> tuple[Connection, Connection, list[asyncio.Task]]:
    left, right = socket.socketpair()
    a = Connection(*await asyncio.open_unix_connection(sock=left))
    b = Connection(*await asyncio.open_unix_connection(sock=right), handler, on_notify)
    return a, b, [asyncio.ensure_future(a.run()), asyncio.ensure_future(b.run())]


@pytest.mark.asyncio
async def test_requests_notifications_and_errors():
    notes: list = []

    async def handler(msgid: int, method: str, params: list):
        if method == "fail":
            raise ValueError("no such thing")
        return {"method": method, "params": params}

    client, server, tasks = await _pair(handler, lambda method, params: notes.append((method, params)))
    assert await client.request("echo", 1, "two") == {"method": "echo", "params": [1, "two"]}
    with pytest.raises(RpcError, match="ValueError: no such thing"):
        await client.request("fail")
    client.notify("cancel", 5)
    assert await client.request("sync") is not None  # answered after the notification was read
    assert notes == [("cancel", [5])]
    await server.close()
    await asyncio.gather(*tasks)


@pytest.mark.asyncio
async def test_pending_requests_fail_when_the_peer_goes():
    started = asyncio.Event()

    async def never(msgid: int, method: str, params: list):
        started.set()
        await asyncio.Event().wait()

    client, server, tasks = await _pair(never)
    _, answer = client.start_request("hang")
    await started.wait()
    await server.close()
    with pytest.raises(ConnectionLost):
        await answer
    with pytest.raises(ConnectionLost):
        client.start_request("again")
    await asyncio.gather(*tasks)


def test_lsp_and_rpc_never_import_torch():
    code = (
        "import sys, mercury.lsp.cli, mercury.lsp.server, mercury.lsp.remote, mercury.denoiser.service;"
        "sys.exit('torch' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0
