"""The engine client for a shared daemon (`mercury serve`), over msgpack-RPC (denoiser/rpc.py).

It connects on first use; when nothing listens it starts the daemon itself (detached, so it outlives
this server and serves the next editor), and after the daemon restarts it reconnects and retries the
request once. Cancellation is forwarded as a `cancel` notification naming the request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from mercury.denoiser.api import CompletionRequest, CompletionResult
from mercury.denoiser.rpc import (
    TOKEN_ENV,
    Address,
    Connection,
    ConnectionLost,
    default_socket_path,
    open_stream,
)

from .engines import CancelToken, EngineUnavailable

log = logging.getLogger(__name__)


def daemon_command(model: str, address: Address, idle_timeout: float = 1800.0) -> list[str]:
    """The command that starts a daemon for `address` (the module entry point: no `mercury` script needed)."""
    return [
        sys.executable,
        "-m",
        "mercury.denoiser.service",
        "--model",
        model,
        "--listen",
        str(address),
        "--idle-timeout",
        str(idle_timeout),
    ]


class RemoteEngine:
    """A connection to the shared engine daemon, re-established whenever it drops."""

    def __init__(
        self,
        address: Address,
        *,
        spawn: list[str] | None = None,
        token: str | None = None,
        client_name: str = "mercury-lsp",
        start_timeout: float = 300.0,
    ):
        self.address = address
        self._spawn_command = spawn
        self._token = token if token is not None else os.environ.get(TOKEN_ENV)
        self._client_name = f"{client_name}-{os.getpid()}"
        self._start_timeout = start_timeout
        self._connection: Connection | None = None
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task] = set()
        self.info: dict = {}

    async def start(self, report: Callable[[str], None]) -> dict:
        await self._connect(report)
        return self.info

    async def complete(self, request: CompletionRequest, token: CancelToken) -> CompletionResult:
        for attempt in range(2):
            connection = await self._connect(lambda _message: None)
            try:
                msgid, answer = connection.start_request("complete", request.to_dict())
            except ConnectionLost:
                continue
            token.add_callback(lambda c=connection, m=msgid: c.notify("cancel", m))
            try:
                return CompletionResult.from_dict(await answer)
            except asyncio.CancelledError:
                connection.notify("cancel", msgid)
                raise
            except ConnectionLost:
                if attempt or token.cancelled():
                    raise
                log.info("engine daemon went away; reconnecting")
        raise EngineUnavailable(f"no engine answers on {self.address}")

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
        for task in self._tasks:
            task.cancel()

    async def _connect(self, report: Callable[[str], None]) -> Connection:
        async with self._lock:
            if self._connection is not None and not self._connection.closed:
                return self._connection
            reader, writer = await self._open(report)
            connection = Connection(reader, writer)
            task = asyncio.ensure_future(connection.run())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            hello = await connection.request(
                "hello", {"token": self._token or "", "client": self._client_name}
            )
            self.info = dict(hello.get("info") or {})
            self._connection = connection
            log.info("connected to engine %s on %s", self.info.get("name"), self.address)
            return connection

    async def _open(self, report: Callable[[str], None]) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        try:
            return await open_stream(self.address)
        except OSError as exc:
            if self._spawn_command is None:
                raise EngineUnavailable(f"no engine daemon on {self.address}: {exc}") from exc
        report(f"starting the engine daemon on {self.address}")
        process = self._spawn()
        return await self._wait_for_daemon(process)

    def _spawn(self) -> subprocess.Popen:
        log_path = _daemon_log_path(self.address)
        log.info("starting engine daemon: %s (log: %s)", " ".join(self._spawn_command or []), log_path)
        with open(log_path, "ab") as log_file:
            return subprocess.Popen(
                self._spawn_command or [],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log_file,
                start_new_session=True,  # not killed with this server: other editors share it
            )

    async def _wait_for_daemon(
        self, process: subprocess.Popen
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Connect once the daemon has loaded its model and listens (it binds only when ready)."""
        deadline = time.monotonic() + self._start_timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                return await open_stream(self.address)
            # Exit code 0 before listening means another daemon holds the address and is starting.
            if process.poll() not in (None, 0):
                log_path = _daemon_log_path(self.address)
                raise EngineUnavailable(
                    f"the engine daemon exited with code {process.returncode}; see {log_path}"
                )
            await asyncio.sleep(0.1)  # polling a socket that appears once a model has loaded
        raise EngineUnavailable(f"the engine daemon did not start listening on {self.address} in time")


def _daemon_log_path(address: Address) -> Path:
    """The daemon's stderr goes next to its socket (the folder is private to the user)."""
    if address.is_unix:
        path = Path(f"{address.path}.log")
    else:
        path = default_socket_path().parent / f"engine-{address.host}-{address.port}.log"
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path
