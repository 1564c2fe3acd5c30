"""The shared engine daemon (denoiser/service.py) and its client (lsp/remote.py), with the fake engine."""

from __future__ import annotations

import asyncio
import fcntl
import os
import shutil
import signal
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from mercury.denoiser.api import CompletionRequest
from mercury.denoiser.rpc import Address, RpcError
from mercury.denoiser.service import lock_path, serve_main
from mercury.lsp.engines import CancelToken
from mercury.lsp.remote import RemoteEngine

from .fakes import SLOW_MARKER, FakeEngine, daemon

HERE = Path(__file__).resolve().parent


@pytest.fixture
def address() -> Iterator[Address]:
    folder = tempfile.mkdtemp(prefix="mercury-test-", dir="/tmp")  # unix socket paths must stay short
    yield Address(path=os.path.join(folder, "engine.sock"))
    shutil.rmtree(folder, ignore_errors=True)


def request(prefix: str, uri: str = "file:///a.py") -> CompletionRequest:
    return CompletionRequest(prefix=prefix, cache_key=uri)


@pytest.mark.asyncio
async def test_socket_is_private_and_clients_have_separate_caches(address: Address):
    engine = FakeEngine()
    async with daemon(engine, address):
        assert stat.S_IMODE(os.stat(address.path).st_mode) == 0o600
        first, second = RemoteEngine(address), RemoteEngine(address)
        assert (await first.start(print))["name"] == "fake"
        await second.start(print)
        for client in (first, second):
            result = await client.complete(request("total = "), CancelToken())
            assert result.text == "price * quantity"
        keys = [r.cache_key for r in engine.requests]
        assert len(set(keys)) == 2 and all(key.endswith("/file:///a.py") for key in keys)
        await first.close()
        await second.close()


@pytest.mark.asyncio
async def test_newer_request_for_a_document_cancels_the_stale_one(address: Address):
    engine = FakeEngine()
    async with daemon(engine, address):
        client = RemoteEngine(address)
        stale = asyncio.ensure_future(client.complete(request(SLOW_MARKER), CancelToken()))
        await asyncio.get_running_loop().run_in_executor(None, engine.slow_started.wait)
        fresh = await client.complete(request("total = "), CancelToken())
        assert fresh.text == "price * quantity"
        assert (await stale).stop_reason == "cancelled"
        await client.close()


@pytest.mark.asyncio
async def test_cancel_token_reaches_the_daemon(address: Address):
    engine = FakeEngine()
    async with daemon(engine, address):
        client = RemoteEngine(address)
        token = CancelToken()
        pending = asyncio.ensure_future(client.complete(request(SLOW_MARKER), token))
        await asyncio.get_running_loop().run_in_executor(None, engine.slow_started.wait)
        token.cancel()
        assert (await pending).stop_reason == "cancelled"
        assert engine.cancelled_jobs == 1
        await client.close()


@pytest.mark.asyncio
async def test_shared_token_is_required(address: Address):
    async with daemon(FakeEngine(), address, token="s3cret"):
        with pytest.raises(RpcError, match="wrong engine token"):
            await RemoteEngine(address, token="guess").start(print)
        client = RemoteEngine(address, token="s3cret")
        assert (await client.start(print))["name"] == "fake"
        await client.close()


@pytest.mark.asyncio
async def test_client_reconnects_after_the_daemon_restarts(address: Address):
    client = RemoteEngine(address)
    async with daemon(FakeEngine(name="first"), address):
        assert (await client.complete(request("total = "), CancelToken())).text == "price * quantity"
    async with daemon(FakeEngine(name="second"), address):
        assert (await client.complete(request("total = "), CancelToken())).text == "price * quantity"
        assert client.info["name"] == "second"
    await client.close()


@pytest.mark.asyncio
async def test_client_starts_the_daemon_when_absent(address: Address):
    spawn = [sys.executable, str(HERE / "fake_daemon.py"), "--listen", str(address), "--idle-timeout", "30"]
    client = RemoteEngine(address, spawn=spawn)
    reports: list[str] = []
    try:
        assert (await client.start(reports.append))["name"] == "fake"
        assert reports == [f"starting the engine daemon on {address}"]
    finally:
        await client.close()
        pid = int(lock_path(address).read_text().split()[0])
        os.kill(pid, signal.SIGTERM)  # the daemon this test started


def test_exposing_the_engine_needs_a_flag_and_a_token(capsys):
    never = lambda args: pytest.fail("must not load")  # noqa: E731
    assert serve_main(["--listen", "0.0.0.0:7777"], load=never) == 2
    assert "--allow-remote" in capsys.readouterr().err
    assert serve_main(["--listen", "0.0.0.0:7777", "--allow-remote"], load=never) == 2
    assert "token" in capsys.readouterr().err


def test_a_second_daemon_for_the_same_address_steps_aside(address: Address, capsys):
    Path(address.path).parent.mkdir(exist_ok=True)
    with open(lock_path(address), "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert serve_main(["--listen", str(address)], load=lambda args: pytest.fail("must not load")) == 0
    assert "already serves" in capsys.readouterr().err
