"""msgpack-RPC between language servers and the shared engine daemon (`mercury serve`).

Messages follow the msgpack-RPC spec (https://github.com/msgpack-rpc/msgpack-rpc/blob/master/spec.md):
request `[0, msgid, method, params]`, response `[1, msgid, error, result]`, notification
`[2, method, params]`, written back to back on a byte stream. Both sides import this module; it imports
neither torch nor LSP types. Addresses are `unix:PATH` (or a bare path) and `HOST:PORT` (or `tcp:HOST:PORT`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
import logging
import os
import stat
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgpack

log = logging.getLogger(__name__)

REQUEST, RESPONSE, NOTIFY = 0, 1, 2
TOKEN_ENV = "MERCURY_ENGINE_TOKEN"  # the shared token, for daemons reachable from other machines
MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # a request carries at most a few windows of source text

Handler = Callable[[int, str, list], Awaitable[Any]]  # (msgid, method, params) -> result
NotifyHandler = Callable[[str, list], None]


class RpcError(Exception):
    """The peer answered a request with an error."""


class ConnectionLost(ConnectionError):
    """The stream closed while a request was waiting for its answer."""


class UnsafeAddress(PermissionError):
    """A unix socket, or its folder, that another user could have put there: never connect or listen."""


# ---------------------------------------------------------------- framing


def pack(message: list) -> bytes:
    return msgpack.packb(message, use_bin_type=True)


class Decoder:
    """Turns a byte stream into whole messages; malformed ones raise ValueError."""

    def __init__(self) -> None:
        self._unpacker = msgpack.Unpacker(raw=False, max_buffer_size=MAX_MESSAGE_BYTES, strict_map_key=False)

    def feed(self, data: bytes) -> list[list]:
        self._unpacker.feed(data)
        return [_check_shape(message) for message in self._unpacker]


def _check_shape(message: Any) -> list:
    if not isinstance(message, list) or not message or message[0] not in (REQUEST, RESPONSE, NOTIFY):
        raise ValueError(f"not a msgpack-RPC message: {message!r:.80}")
    expected = 3 if message[0] == NOTIFY else 4
    if len(message) != expected:
        raise ValueError(f"msgpack-RPC message of type {message[0]} needs {expected} fields")
    return message


# ---------------------------------------------------------------- addresses


@dataclass(frozen=True)
class Address:
    """Where the daemon listens: a unix socket path, or a TCP host and port."""

    path: str | None = None
    host: str | None = None
    port: int | None = None

    @property
    def is_unix(self) -> bool:
        return self.path is not None

    @property
    def is_loopback(self) -> bool:
        return self.is_unix or is_loopback_host(self.host or "")

    def __str__(self) -> str:
        return f"unix:{self.path}" if self.is_unix else f"{self.host}:{self.port}"


def default_socket_path() -> Path:
    """A per-user socket: $XDG_RUNTIME_DIR/mercury/engine.sock, else /tmp/mercury-UID/engine.sock."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    base = Path(runtime) / "mercury" if runtime else Path(tempfile.gettempdir()) / f"mercury-{os.getuid()}"
    return base / "engine.sock"


def parse_address(text: str) -> Address:
    """`default`, `unix:PATH`, a path, `tcp:HOST:PORT` or `HOST:PORT`; raises ValueError otherwise."""
    text = text.strip()
    if text in ("", "default"):
        return Address(path=str(default_socket_path()))
    if text.startswith("unix:"):
        return Address(path=str(Path(text[5:]).expanduser()))
    if text.startswith("tcp:"):
        text = text[4:]
    elif "/" in text or text.endswith(".sock"):
        return Address(path=str(Path(text).expanduser()))
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"bad engine address {text!r}: use unix:PATH, a socket path, or HOST:PORT")
    return Address(host=host.strip("[]") or "127.0.0.1", port=int(port))


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def open_stream(address: Address) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect to `address`; a unix socket must belong to this user (or root), else UnsafeAddress.

    In a shared folder such as /tmp another user can create the socket first and read every request
    (source code) sent to it; our own daemon's socket is always ours.
    """
    limit = MAX_MESSAGE_BYTES
    if address.is_unix:
        owner = os.stat(address.path).st_uid  # FileNotFoundError (an OSError) when nothing is there
        if owner not in (os.getuid(), 0):
            raise UnsafeAddress(f"{address.path} belongs to uid {owner}, not to this user: not connecting")
        return await asyncio.open_unix_connection(address.path, limit=limit)
    return await asyncio.open_connection(address.host, address.port, limit=limit)


def private_folder_problem(folder: Path) -> str | None:
    """Why `folder` may not hold the engine's socket, or None: it must belong to this user (or root)
    and, if others may write to it, be sticky like /tmp (so nobody can replace our socket)."""
    info = os.stat(folder)
    if not stat.S_ISDIR(info.st_mode):
        return f"{folder} is not a directory"
    if info.st_uid not in (os.getuid(), 0):
        return f"{folder} belongs to uid {info.st_uid}, not to this user"
    if info.st_mode & 0o022 and not info.st_mode & stat.S_ISVTX:
        return f"{folder} is writable by other users (mode {stat.S_IMODE(info.st_mode):o})"
    return None


# ---------------------------------------------------------------- connection


class Connection:
    """One peer: sends requests and notifications, answers incoming requests with `handler`.

    Incoming requests run as tasks so that a `cancel` notification (handled by `on_notify`) can reach
    them while they wait. `run()` reads until the stream ends, then fails every pending request.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        handler: Handler | None = None,
        on_notify: NotifyHandler | None = None,
    ):
        self._reader, self._writer = reader, writer
        self._handler, self._on_notify = handler, on_notify
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self._tasks: set[asyncio.Task] = set()
        self.closed = False

    def start_request(self, method: str, *params: Any) -> tuple[int, asyncio.Future]:
        """Send a request now; the future resolves to its result (or RpcError, ConnectionLost)."""
        if self.closed:
            raise ConnectionLost("connection to the engine is closed")
        msgid = next(self._ids)
        data = pack([REQUEST, msgid, method, list(params)])  # a value msgpack refuses leaves nothing pending
        future = asyncio.get_running_loop().create_future()
        self._pending[msgid] = future
        self._send(data)
        return msgid, future

    async def request(self, method: str, *params: Any) -> Any:
        _, future = self.start_request(method, *params)
        return await future

    def notify(self, method: str, *params: Any) -> None:
        if not self.closed:
            self._write([NOTIFY, method, list(params)])

    async def run(self) -> None:
        decoder = Decoder()
        try:
            while data := await self._reader.read(65536):
                for message in decoder.feed(data):
                    self._dispatch(message)
        except (ConnectionError, ValueError, msgpack.exceptions.UnpackException) as exc:
            log.warning("engine connection dropped: %s", exc)
        finally:
            self._close_pending()

    async def close(self) -> None:
        self._close_pending()
        self._writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self._writer.wait_closed()

    def _write(self, message: list) -> None:
        self._send(pack(message))

    def _send(self, data: bytes) -> None:
        try:
            self._writer.write(data)
        except (ConnectionError, RuntimeError) as exc:  # RuntimeError: transport already closed
            self._close_pending()
            raise ConnectionLost(str(exc)) from exc

    def _dispatch(self, message: list) -> None:
        kind = message[0]
        if kind == RESPONSE:
            _, msgid, error, result = message
            future = self._pending.pop(msgid, None)
            if future is None or future.done():
                return
            if error is not None:
                future.set_exception(RpcError(str(error)))
            else:
                future.set_result(result)
        elif kind == NOTIFY:
            if self._on_notify is not None:
                self._on_notify(message[1], message[2])
        else:
            task = asyncio.ensure_future(self._answer(message[1], message[2], message[3]))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _answer(self, msgid: int, method: str, params: list) -> None:
        if self._handler is None:
            error, result = f"this peer answers no requests ({method})", None
        else:
            try:
                error, result = None, await self._handler(msgid, method, params)
            except asyncio.CancelledError:
                error, result = "cancelled", None
            except Exception as exc:  # the peer must get an answer whatever went wrong
                log.exception("request %s failed", method)
                error, result = f"{type(exc).__name__}: {exc}", None
        if self.closed:
            return
        try:
            data = pack([RESPONSE, msgid, error, result])
        except (TypeError, ValueError, OverflowError) as exc:  # e.g. a lone surrogate in a str
            data = pack([RESPONSE, msgid, f"the answer could not be encoded: {exc}", None])
        with contextlib.suppress(ConnectionLost):
            self._send(data)

    def _close_pending(self) -> None:
        self.closed = True
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(ConnectionLost("the engine closed the connection"))
        for task in list(self._tasks):
            task.cancel()
