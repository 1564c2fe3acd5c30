"""The engine client for a shared daemon (`mercury serve`), over msgpack-RPC (denoiser/rpc.py).

It connects on first use; when nothing listens it starts the daemon itself (detached, so it outlives
this server and serves the next editor). If the daemon goes away later (killed mid-request, say), the
requests in flight and those that follow answer at once with EngineUnavailable, which the editor sees
as an empty answer, while the daemon is restarted in the background (with a growing delay between
failed tries); a daemon that restarted on its own is reconnected on the next request. Cancellation is
forwarded as a `cancel` notification naming the request.
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
    UnsafeAddress,
    default_socket_path,
    open_stream,
)

from .engines import CancelToken, EngineUnavailable

log = logging.getLogger(__name__)


def daemon_command(
    model: str, address: Address, idle_timeout: float = 1800.0, route_options: list[str] | None = None
) -> list[str]:
    """The command that starts a daemon for `address` (the module entry point: no `mercury` script
    needed); `route_options` are the server's --route and --no-routes (`route_arguments`)."""
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
        *(route_options or []),
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
        self._restart: asyncio.Task | None = None
        self._retry_at = 0.0  # monotonic time before which no new daemon is started
        self._backoff = 1.0
        self.info: dict = {}

    async def start(self, report: Callable[[str], None]) -> dict:
        await self._connect(report)
        return self.info

    async def complete(self, request: CompletionRequest, token: CancelToken) -> CompletionResult:
        for attempt in range(2):
            connection = await self._connection_now()  # EngineUnavailable at once while none listens
            try:
                return await self._complete_on(connection, request, token)
            except ConnectionLost as exc:
                if attempt or token.cancelled():
                    raise self._lost() from exc
                log.info("engine daemon went away; trying its successor once")
        raise AssertionError("unreachable")

    async def _complete_on(
        self, connection: Connection, request: CompletionRequest, token: CancelToken
    ) -> CompletionResult:
        msgid, answer = connection.start_request("complete", request.to_dict())
        token.add_callback(lambda: connection.notify("cancel", msgid))
        try:
            return CompletionResult.from_dict(await answer)
        except asyncio.CancelledError:
            connection.notify("cancel", msgid)
            raise

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
        for task in [*self._tasks, *([self._restart] if self._restart else [])]:
            task.cancel()

    async def _connection_now(self) -> Connection:
        """The live connection, or a new one to a daemon that already listens; never waits for a start."""
        if self._connection is not None and not self._connection.closed:
            return self._connection
        if self._lock.locked():
            raise EngineUnavailable(f"the engine daemon on {self.address} is starting")
        async with self._lock:
            try:
                return await self._handshake(*await open_stream(self.address))
            except UnsafeAddress as exc:
                raise EngineUnavailable(str(exc)) from exc
            except OSError:  # nothing listens, or a dying daemon accepted and then dropped us
                pass
        raise self._lost()

    def _lost(self) -> EngineUnavailable:
        """Start a new daemon in the background (when this client starts daemons) and report the gap."""
        idle = self._restart is None or self._restart.done()
        if self._spawn_command is not None and idle and time.monotonic() >= self._retry_at:
            log.info("engine daemon on %s went away; starting a new one", self.address)
            self._restart = asyncio.ensure_future(self._restart_daemon())
        return EngineUnavailable(f"the engine daemon on {self.address} went away; restarting it")

    async def _restart_daemon(self) -> None:
        try:
            await self._connect(lambda _message: None)
            self._backoff = 1.0
        except Exception as exc:  # a daemon that cannot start must not take the editor down with it
            self._retry_at = time.monotonic() + self._backoff
            self._backoff = min(self._backoff * 2, 300.0)
            log.warning("could not restart the engine daemon (next try in %.0f s): %s", self._backoff, exc)

    async def _connect(self, report: Callable[[str], None]) -> Connection:
        async with self._lock:
            if self._connection is not None and not self._connection.closed:
                return self._connection
            return await self._handshake(*await self._open(report))

    async def _handshake(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Connection:
        """Say hello (with the shared token) on a new stream and make it the connection."""
        connection = Connection(reader, writer)
        task = asyncio.ensure_future(connection.run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        try:
            hello = await connection.request(
                "hello", {"token": self._token or "", "client": self._client_name}
            )
        except BaseException:
            await connection.close()  # a refused token or a daemon that left: no half-open connection
            raise
        self.info = dict(hello.get("info") or {})
        self._connection = connection
        log.info("connected to engine %s on %s", self.info.get("name"), self.address)
        return connection

    async def _open(self, report: Callable[[str], None]) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        try:
            return await open_stream(self.address)
        except UnsafeAddress as exc:  # starting a daemon would not help: the address is not ours
            raise EngineUnavailable(str(exc)) from exc
        except OSError as exc:
            if self._spawn_command is None:
                raise EngineUnavailable(f"no engine daemon on {self.address}: {exc}") from exc
        report(f"starting the engine daemon on {self.address}")
        process = self._spawn()
        return await self._wait_for_daemon(process)

    def _spawn(self) -> subprocess.Popen:
        command = self._spawn_command or []
        try:
            log_path = _daemon_log_path(self.address)
            log_file = open(log_path, "ab")  # noqa: SIM115 - closed below, once the child has its copy
        except OSError as exc:  # an unwritable log folder must not stop completions
            log.warning("cannot write the engine daemon's log (%s); starting it without one", exc)
            log_file = None
        log.info("starting engine daemon: %s (log: %s)", " ".join(command), log_file and log_file.name)
        try:
            return subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log_file or subprocess.DEVNULL,
                start_new_session=True,  # not killed with this server: other editors share it
            )
        finally:
            if log_file is not None:
                log_file.close()

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
                raise EngineUnavailable(
                    f"the engine daemon exited with code {process.returncode}: {_last_log_line(self.address)}"
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


def _last_log_line(address: Address) -> str:
    """The daemon's last words (mercury serve ends with the reason it stopped), and where the rest is."""
    try:
        path = _daemon_log_path(address)
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "no log"
    return f"{lines[-1].strip() if lines else 'no output'} (log: {path})"
