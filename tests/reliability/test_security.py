"""Security: who can reach the engine, what the server reads, what it loads, where it connects.

- The daemon's unix socket is 0600 in a 0700 folder; it refuses a folder others could write to, and
  the client refuses a socket another user owns. A non-loopback address needs a flag and a token, and
  without the token no method but `hello` answers. Numbers from clients are clamped.
- No module on the serving path can unpickle or open a network connection (checked on the source of
  every module the two entry points can import, lazy imports included), and loading a model does not
  unpickle anything at run time.
- A real server session under an audit hook (guard.py) never opens a file that a URI names, and never
  connects anywhere but the daemon's unix socket.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import importlib.util
import math
import os
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from lsp.fakes import FakeEngine, daemon
from mercury.denoiser.api import CompletionRequest
from mercury.denoiser.rpc import Address, Connection, RpcError, UnsafeAddress, open_stream, parse_address
from mercury.lsp.engines import CancelToken, EngineUnavailable
from mercury.lsp.remote import RemoteEngine

from .harness import StdioServer, inline_request, open_document, running_server

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
ENTRY_POINTS = ("mercury.lsp.cli", "mercury.denoiser.service")  # mercury-lsp and mercury serve
UNPICKLERS = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "shelve", "marshal"}
NETWORK = {"urllib.request", "http.client", "requests", "httpx", "aiohttp", "ftplib", "smtplib", "socket"}


@contextlib.contextmanager
def owned_by_someone_else(path: Path, monkeypatch) -> Iterator[None]:
    """Make `path` look like another user's: chown it as root, else pretend to be another uid."""
    if os.getuid() == 0:
        os.chown(path, 65534, 65534)
    else:
        real = os.getuid()
        monkeypatch.setattr(os, "getuid", lambda: real + 1)
    yield


# ---------------------------------------------------------------- the daemon's address


@pytest.mark.asyncio
async def test_default_socket_is_private(short_tmp: Path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(short_tmp))
    address = parse_address("default")
    async with daemon(FakeEngine(), address):
        assert stat.S_IMODE(os.stat(address.path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(Path(address.path).parent).st_mode) == 0o700


@pytest.mark.asyncio
@pytest.mark.parametrize(("mode", "allowed"), [(0o777, False), (0o1777, True), (0o755, True)])
async def test_daemon_listens_only_where_others_cannot_swap_the_socket(
    short_tmp: Path, mode: int, allowed: bool
):
    folder = short_tmp / "shared"
    folder.mkdir()
    folder.chmod(mode)
    address = Address(path=str(folder / "engine.sock"))
    if allowed:
        async with daemon(FakeEngine(), address):
            assert stat.S_IMODE(os.stat(address.path).st_mode) == 0o600
    else:
        with pytest.raises(UnsafeAddress, match="writable by other users"):
            async with daemon(FakeEngine(), address):
                pass


@pytest.mark.asyncio
async def test_client_never_talks_to_a_socket_someone_else_owns(short_tmp: Path, monkeypatch):
    path = short_tmp / "engine.sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.listen()
    marker = short_tmp / "spawned"
    try:
        with owned_by_someone_else(path, monkeypatch):
            with pytest.raises(UnsafeAddress, match="not to this user"):
                await open_stream(Address(path=str(path)))
            spawn = [sys.executable, "-c", f"open({str(marker)!r}, 'w')"]
            with pytest.raises(EngineUnavailable, match="not to this user"):
                await RemoteEngine(Address(path=str(path)), spawn=spawn).start(lambda _m: None)
        assert not marker.exists()  # and it did not start a daemon in its place
    finally:
        listener.close()


@pytest.mark.asyncio
async def test_with_a_token_nothing_answers_before_hello(short_tmp: Path):
    address = Address(path=str(short_tmp / "engine.sock"))
    async with daemon(FakeEngine(), address, token="s3cret"):
        connection = Connection(*await open_stream(address))
        reader = asyncio.ensure_future(connection.run())
        for method, params in [("complete", {"prefix": "total = "}), ("info", None), ("stats", None)]:
            with pytest.raises(RpcError, match="send hello with the shared token first"):
                await connection.request(method, *([params] if params else []))
        with pytest.raises(RpcError, match="wrong engine token"):
            await connection.request("hello", {"token": "s3cre"})
        await connection.close()
        await reader


@pytest.mark.asyncio
async def test_numbers_from_clients_are_clamped(short_tmp: Path):
    """Any local process may connect: a span budget of 10^9 tokens would hold the engine for good."""
    address, engine = Address(path=str(short_tmp / "engine.sock")), FakeEngine()
    async with daemon(engine, address):
        client = RemoteEngine(address)
        for tau in (math.nan, 7.0):
            request = CompletionRequest(prefix="total = ", max_tokens=10**9, tau=tau)
            assert (await client.complete(request, CancelToken())).text == "price * quantity"
        await client.close()
    assert [(r.max_tokens, r.tau) for r in engine.requests] == [(2048, 0.9), (2048, 1.0)]


def test_lsp_tcp_needs_a_flag_for_other_hosts():
    from mercury.lsp.cli import parse_tcp

    assert parse_tcp("7000", allow_remote=False) == ("127.0.0.1", 7000)
    with pytest.raises(ValueError, match="--allow-remote"):
        parse_tcp("0.0.0.0:7000", allow_remote=False)


# ---------------------------------------------------------------- what the serving path can do


def serving_modules() -> dict[str, Path]:
    """Every mercury module the two entry points import, lazily or not, found from their source."""
    seen: dict[str, Path] = {}
    todo = list(ENTRY_POINTS)
    while todo:
        name = todo.pop()
        if name in seen or not name.startswith("mercury") or not _is_module(name):
            continue
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue  # `from mercury import __version__`: a name, not a module
        seen[name] = Path(spec.origin)
        todo.extend(_imports(name, seen[name], spec.submodule_search_locations is not None))
    return seen


def _is_module(name: str) -> bool:
    """False for `package.module.attribute` (from module import attribute); no module is executed."""
    parent = name.rpartition(".")[0]
    if parent in ("", "mercury"):
        return True
    spec = importlib.util.find_spec(parent)
    return spec is not None and spec.submodule_search_locations is not None


def _imports(name: str, path: Path, is_package: bool) -> Iterator[str]:
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            module = (f"{base}.{node.module}" if node.module else base) if node.level else node.module
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else ""


def risky_uses(path: Path) -> list[str]:
    """Imports of unpicklers or network clients, and calls of pickle-based or network loaders."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found += [f"import {m}" for m in modules if m.split(".")[0] in UNPICKLERS or m in NETWORK]
        elif isinstance(node, ast.Call):
            called = _dotted(node.func)
            if called.endswith(("torch.load", "jit.load", "np.load", "numpy.load", "urlopen")):
                found.append(f"call {called}")
            if called.endswith(("open_connection", "create_connection")) and path.name != "rpc.py":
                found.append(f"call {called}")  # rpc.open_stream is the one place that connects
    return [f"{path.relative_to(REPO)}: {use}" for use in found]


def test_serving_path_has_no_pickle_and_no_network_client():
    modules = serving_modules()
    assert {"mercury.lsp.server", "mercury.denoiser.engine", "mercury.denoiser.model"} <= modules.keys()
    assert "mercury.denoiser.train" not in modules  # trainer_state.pt is read only by training
    assert [use for path in modules.values() for use in risky_uses(path)] == []


def test_training_checkpoints_load_without_code():
    """The one torch.load in the repository (resuming training) passes weights_only=True."""
    calls = [
        node
        for node in ast.walk(ast.parse((REPO / "denoiser" / "train.py").read_text()))
        if isinstance(node, ast.Call) and _dotted(node.func) == "torch.load"
    ]
    assert calls and all(
        any(k.arg == "weights_only" and getattr(k.value, "value", None) is True for k in c.keywords)
        for c in calls
    )


def test_loading_and_completing_unpickles_nothing(untrained_model_dir: Path):
    """Run in a fresh interpreter with an audit hook on pickle.find_class (every unpickling of an
    object passes there) and torch.load replaced by a tripwire."""
    script = f"""
import sys, torch
torch.set_num_threads(1)
events = []
sys.addaudithook(lambda event, args: event == "pickle.find_class" and events.append(args))
def tripwire(*args, **kwargs):
    raise AssertionError("torch.load on the serving path")
torch.load = tripwire
from mercury.denoiser.api import CompletionRequest
from mercury.denoiser.engine import Engine
engine = Engine.load({str(untrained_model_dir)!r}, threads=1)
engine.complete(CompletionRequest(prefix="def area(width, ", max_tokens=8))
print("unpickled:", events)
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "unpickled: []"


# ---------------------------------------------------------------- a whole session under audit


def test_guard_records_what_it_should(short_tmp: Path):
    """The control for the session test below: the hook sees a secret read and a remote connect."""
    secret = short_tmp / "secret.py"
    secret.write_text("x = 1\n")
    log = short_tmp / "audit.log"
    script = (
        f"import sys, socket; sys.path.insert(0, {str(HERE)!r}); import guard; "
        f"guard.install({str(log)!r}, [{str(short_tmp)!r}]); open({str(secret)!r}).read(); "
        "sys.audit('socket.connect', socket.socket(), ('192.0.2.1', 9))"  # the event alone, no packet
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    assert log.read_text().splitlines() == [f"open {secret}", "connect ('192.0.2.1', 9)"]


def test_a_session_reads_no_file_a_uri_names_and_connects_nowhere(short_tmp: Path):
    secrets = short_tmp / "secret"
    secrets.mkdir()
    (secrets / "secret.py").write_text("total = \n")
    audit = short_tmp / "audit.log"
    args = [
        "--guard",
        str(audit),
        "--secret",
        str(secrets),
        "--secret",
        "/etc/shadow",
        "--secret",
        "/etc/passwd",
    ]
    args += ["--engine", f"unix:{short_tmp / 'engine.sock'}"]
    root = secrets.as_uri()
    caps_options = {"debounce": {"mode": "fixed", "ms": 0}}
    try:
        with running_server(short_tmp, *args, initialize=False) as server:
            server.result(
                "initialize",
                {
                    "processId": None,
                    "rootUri": root,
                    "workspaceFolders": [{"uri": root, "name": "secret"}],
                    "capabilities": {"textDocument": {"inlineCompletion": {}}},
                    "initializationOptions": caps_options,
                },
            )
            server.notify("initialized", {})
            for uri in _hostile_uris(secrets):
                _poke(server, uri)
            # Opened with its text, a document is served from that text, not from the file beside it.
            opened = (secrets / "secret.py").as_uri()
            open_document(server, opened, "greeting = \n")
            answer = server.result("textDocument/inlineCompletion", inline_request(opened, 0, 11))
            assert [item["insertText"] for item in answer["items"]] == ['"hello, world"']
    finally:
        _stop_daemon(short_tmp / "engine.sock")
    assert audit.read_text() == ""


def _hostile_uris(secrets: Path) -> list[str]:
    target = secrets / "secret.py"
    return [
        target.as_uri(),
        f"file://localhost{target}",
        f"file://{secrets}/../{secrets.name}/secret.py",
        f"file://{secrets}/secret%2Epy",
        str(target),
        "file:///etc/shadow",
        "file:///etc/passwd",
    ]


def _poke(server: StdioServer, uri: str) -> None:
    """Every request and notification that carries a URI, for a document that was never opened."""
    document = {"textDocument": {"uri": uri}}
    for method in ("textDocument/inlineCompletion", "textDocument/completion"):
        assert server.result(method, inline_request(uri, 0, 0)) is None
    server.notify(
        "textDocument/didChange",
        {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": "x"}]},
    )
    server.notify("textDocument/didSave", document)
    server.notify("textDocument/didClose", document)
    server.notify("workspace/didChangeWatchedFiles", {"changes": [{"uri": uri, "type": 2}]})
    assert "error" in server.request(
        "textDocument/hover", {**document, "position": {"line": 0, "character": 0}}
    )
    server.request("workspace/executeCommand", {"command": "mercury.accept", "arguments": [uri]})


def _stop_daemon(socket_path: Path) -> None:
    from mercury.denoiser.service import lock_path

    lock = lock_path(Address(path=str(socket_path)))
    if lock.exists() and (pid := lock.read_text().split()):
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid[0]), 15)
