"""The shared engine daemon (`mercury serve`): one warm model for the language servers of many editors.

Several editors each run a thin `mercury-lsp --engine ADDRESS`; they all talk msgpack-RPC (rpc.py) to
this one process, so the model is loaded once (llama.vim#42 and copilot.lua#667 show the cost of one
model per editor). Each connection is a session with its own K/V cache namespace; a newer request for
a document cancels the older one still in flight. A unix socket is created mode 0600; TCP binds to
loopback unless `--allow-remote` is given together with a shared token.

Nothing here imports LSP types, and torch is only imported when serve_main() loads the real engine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import hmac
import itertools
import logging
import math
import os
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

from .api import CompletionRequest, CompletionResult
from .routing import add_route_options
from .rpc import (
    TOKEN_ENV,
    Address,
    Connection,
    UnsafeAddress,
    default_socket_path,
    open_stream,
    parse_address,
    private_folder_problem,
)

log = logging.getLogger("mercury.serve")

MAX_SPAN_TOKENS = 2048  # the largest span budget the language server's settings allow
EngineLoader = Callable[[argparse.Namespace], Any]  # returns an object with complete/info/count_tokens


class EngineService:
    """Routes requests from every session to one engine, one completion at a time."""

    def __init__(self, engine: Any, *, token: str | None = None):
        self.engine = engine
        self.token = token
        # One worker: the engine serialises anyway, and a queued job that gets cancelled never runs.
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mercury-engine")
        self.sessions: set[Session] = set()
        self.connections: set[Connection] = set()
        self.changed = asyncio.Event()
        self.served = 0
        self._ids = itertools.count(1)

    async def handle_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = Session(self, next(self._ids))
        connection = Connection(reader, writer, session.handle, session.on_notify)
        self.sessions.add(session)
        self.connections.add(connection)
        self.changed.set()
        log.info("client %d connected", session.client_id)
        try:
            await connection.run()
        finally:
            session.cancel_all()
            self.sessions.discard(session)
            self.connections.discard(connection)
            self.changed.set()
            await connection.close()
            log.info("client %d left", session.client_id)

    async def wait_idle(self, idle_timeout: float) -> None:
        """Return once no client has been connected for `idle_timeout` seconds (0: never return)."""
        while True:
            self.changed.clear()
            if self.sessions or idle_timeout <= 0:
                await self.changed.wait()
                continue
            try:
                await asyncio.wait_for(self.changed.wait(), idle_timeout)
            except TimeoutError:
                return

    async def run_job(self, request: CompletionRequest, cancel: threading.Event) -> CompletionResult:
        def job() -> CompletionResult:
            if cancel.is_set():
                return CompletionResult(text="", stop_reason="cancelled")
            return self.engine.complete(request, cancel.is_set)

        try:
            return await asyncio.get_running_loop().run_in_executor(self.executor, job)
        except asyncio.CancelledError:
            cancel.set()  # the session went away: stop the denoising loop at its next step
            raise
        finally:
            self.served += 1


class Session:
    """One connected language server: its cache namespace and its in-flight jobs."""

    def __init__(self, service: EngineService, client_id: int):
        self.service, self.client_id = service, client_id
        self.authenticated = service.token is None
        self.name = f"client-{client_id}"
        self.jobs: dict[int, threading.Event] = {}
        self.latest: dict[str, int] = {}  # document cache key -> msgid of its newest request

    async def handle(self, msgid: int, method: str, params: list) -> Any:
        if method == "hello":
            return self._hello(params[0] if params else {})
        if not self.authenticated:
            raise PermissionError("send hello with the shared token first")
        if method == "complete":
            return await self._complete(msgid, params[0])
        if method == "info":
            return self.service.engine.info()
        if method == "count_tokens":
            return self.service.engine.count_tokens(str(params[0]))
        if method == "stats":
            return {"clients": len(self.service.sessions), "served": self.service.served}
        raise ValueError(f"unknown method {method!r}")

    def on_notify(self, method: str, params: list) -> None:
        if method == "cancel" and params and (job := self.jobs.get(params[0])) is not None:
            job.set()

    def cancel_all(self) -> None:
        for job in self.jobs.values():
            job.set()

    def _hello(self, params: dict) -> dict:
        token = self.service.token
        if token is not None and not hmac.compare_digest(str(params.get("token", "")), token):
            raise PermissionError("wrong engine token")
        self.authenticated = True
        self.name = str(params.get("client") or self.name)
        return {"client_id": self.client_id, "info": self.service.engine.info()}

    async def _complete(self, msgid: int, data: dict) -> dict:
        request = CompletionRequest.from_dict(data)
        document = str(request.cache_key or "")
        # Sessions never share K/V entries: each editor keeps its own warm context.
        request = _checked(request, f"{self.client_id}/{document}")
        if (stale := self.latest.get(document)) is not None and stale in self.jobs:
            self.jobs[stale].set()  # a newer state of the same document makes the older request stale
        self.latest[document] = msgid
        cancel = self.jobs[msgid] = threading.Event()
        try:
            return (await self.service.run_job(request, cancel)).to_dict()
        finally:
            del self.jobs[msgid]
            if self.latest.get(document) == msgid:
                del self.latest[document]


def _checked(request: CompletionRequest, key: str) -> CompletionRequest:
    """The request with this session's cache key and its numbers clamped to what a client may ask:
    any local process can connect, and a span budget of 10^9 tokens would hold the engine for good."""
    data = request.to_dict()
    data["cache_key"] = key
    data["max_tokens"] = min(max(int(request.max_tokens), 1), MAX_SPAN_TOKENS)
    tau = float(request.tau)
    data["tau"] = min(max(tau, 0.05), 1.0) if math.isfinite(tau) else 0.9
    return CompletionRequest.from_dict(data)


# ---------------------------------------------------------------- listening


async def serve(
    engine: Any,
    address: Address,
    *,
    token: str | None = None,
    idle_timeout: float = 0.0,
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Answer clients on `address` until SIGTERM/SIGINT, or until idle for `idle_timeout` seconds."""
    service = EngineService(engine, token=token)
    server = await _listen(address, service.handle_connection)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if on_ready is not None:
        on_ready()
    idle = asyncio.ensure_future(service.wait_idle(idle_timeout))
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({idle, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        idle.cancel()
        stopped.cancel()
        server.close()
        for session in list(service.sessions):
            session.cancel_all()
        for connection in list(service.connections):
            await connection.close()  # clients see the daemon go and reconnect to its successor
        if address.is_unix:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(address.path)
        service.executor.shutdown(wait=False, cancel_futures=True)


async def _listen(address: Address, callback: Callable) -> asyncio.AbstractServer:
    if not address.is_unix:
        return await asyncio.start_server(callback, address.host, address.port, limit=2**26)
    path = Path(address.path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if (problem := private_folder_problem(path.parent)) is not None:
        raise UnsafeAddress(f"not listening on {address}: {problem}")
    if path.exists():
        if await _socket_alive(address):
            raise RuntimeError(f"an engine already listens on {address}")
        path.unlink()  # left behind by a daemon that died
    old = os.umask(0o177)  # the socket is born 0600: no window where another user could connect
    try:
        server = await asyncio.start_unix_server(callback, path=str(path), limit=2**26)
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    return server


async def _socket_alive(address: Address) -> bool:
    try:
        _, writer = await open_stream(address)
    except OSError:
        return False
    writer.close()
    return True


def lock_path(address: Address) -> Path:
    """The file that one daemon per address holds locked (it contains the daemon's pid)."""
    if address.is_unix:
        return Path(f"{address.path}.lock")
    return default_socket_path().parent / f"engine-{address.host}-{address.port}.lock"


def _acquire_lock(address: Address) -> IO[str] | None:
    """Hold the address's lock so two daemons started at once do not both load the model; None when
    another daemon holds it, OSError when the lock file cannot be created."""
    path = lock_path(address)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    handle = open(path, "a+")  # noqa: SIM115 - held open for the daemon's lifetime
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


# ---------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mercury serve", description="Run one shared completion engine.")
    parser.add_argument("--model", default="coder-mini", help="registry name or model directory")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--listen", default="default", help="unix:PATH, a socket path, or HOST:PORT")
    parser.add_argument("--allow-remote", action="store_true", help="allow a non-loopback TCP address")
    parser.add_argument("--token-file", help=f"file holding the shared token (or set ${TOKEN_ENV})")
    parser.add_argument("--idle-timeout", type=float, default=0.0, help="exit after N s with no client")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="compute threads, torch and ONNX Runtime (default: one per core)",
    )
    parser.add_argument("--no-constraints", action="store_true", help="disable the syntax constraint")
    add_route_options(parser)
    parser.add_argument("--log-level", default="INFO")
    return parser


def _read_token(args: argparse.Namespace) -> str | None:
    if args.token_file:
        return Path(args.token_file).read_text().strip() or None
    return os.environ.get(TOKEN_ENV) or None


def _check_exposure(address: Address, args: argparse.Namespace, token: str | None) -> str | None:
    """An error message when the address would expose the engine beyond this machine unsafely."""
    if address.is_loopback:
        return None
    if not args.allow_remote:
        return f"{address} is not a loopback address: pass --allow-remote (with a token) to expose the engine"
    if token is None:
        return f"--allow-remote needs a shared token: --token-file FILE or ${TOKEN_ENV}"
    return None


def _load_real_engine(args: argparse.Namespace) -> Any:
    from .routing import load_serving_engine, serving_routes  # torch is imported here, not at import

    routes = serving_routes(args.model, args.route, config_routes=not args.no_routes)
    engine = load_serving_engine(
        args.model, routes, device=args.device, constrained=not args.no_constraints, threads=args.threads
    )
    engine.warm_up()
    return engine


def serve_main(argv: list[str] | None = None, load: EngineLoader | None = None) -> int:
    """Entry point of `mercury serve`; `load` replaces the real engine (tests pass a fake)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), stream=sys.stderr, format="%(asctime)s %(name)s %(message)s"
    )
    try:
        address, token = parse_address(args.listen), _read_token(args)
    except (ValueError, OSError) as exc:
        print(f"mercury serve: {exc}", file=sys.stderr)
        return 2
    if (problem := _check_exposure(address, args, token)) is not None:
        print(f"mercury serve: {problem}", file=sys.stderr)
        return 2
    try:
        lock = _acquire_lock(address)
    except OSError as exc:  # an unwritable runtime folder: serve anyway; a second daemon fails to bind
        log.warning("cannot create the lock file %s (%s); running without it", lock_path(address), exc)
        lock = contextlib.nullcontext()
    if lock is None:  # not an error: servers that start a daemon on demand may race to do so
        print(f"mercury serve: another engine already serves {address}", file=sys.stderr)
        return 0
    with lock:
        return _load_and_serve(args, address, token, load or _load_real_engine)


def _load_and_serve(args: argparse.Namespace, address: Address, token: str | None, load: EngineLoader) -> int:
    try:
        engine = load(args)
    except (LookupError, ValueError) as exc:  # ModelNotFound names the available models; a bad --route
        print(f"mercury serve: {exc}", file=sys.stderr)
        return 2
    ready = lambda: print(f"mercury serve: listening on {address}", file=sys.stderr, flush=True)  # noqa: E731
    try:
        asyncio.run(serve(engine, address, token=token, idle_timeout=args.idle_timeout, on_ready=ready))
    except (RuntimeError, OSError) as exc:
        print(f"mercury serve: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(serve_main(sys.argv[1:]))
