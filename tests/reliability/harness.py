"""A raw stdio client for the reliability tests: JSON-RPC frames in, whole messages out, no pygls.

pytest-lsp's client cannot send malformed bytes and lives on one event loop per test; hypothesis runs
many examples against one long-lived server, so this client is synchronous: a reader thread parses
Content-Length frames into a queue, and `request` waits on a condition for the answer with its id.
Timeouts only turn a hang into a failure; no test compares elapsed times.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

HERE = Path(__file__).resolve().parent
SERVER_SCRIPT = HERE / "server_under_test.py"
HANG = 60.0  # seconds after which a missing answer counts as a hang
INLINE_CAPS = {
    "general": {"positionEncodings": ["utf-16"]},
    "textDocument": {"inlineCompletion": {}, "completion": {}, "synchronization": {}},
    "window": {"workDoneProgress": True},
    "workspace": {"configuration": True},
}


class ServerDied(AssertionError):
    """The server process exited or closed stdout while the test still expected answers."""


def frame(message: Any) -> bytes:
    """One Content-Length framed JSON-RPC message (lone surrogates travel as \\u escapes)."""
    body = json.dumps(message).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


def read_frame(stream: BinaryIO) -> dict | None:
    """The next message on `stream`, or None at end of stream."""
    length = None
    while True:
        line = stream.readline()
        if not line:
            return None
        if line in (b"\r\n", b"\n"):
            break
        name, _, value = line.decode("ascii").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    body = stream.read(length or 0)
    return json.loads(body) if body else None


class StdioServer:
    """A language server subprocess spoken to in raw bytes."""

    def __init__(self, command: list[str], *, env: dict[str, str] | None = None, log: Path | None = None):
        self.log = log
        stderr = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - closed in close()
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=env
        )
        if log:
            stderr.close()  # the child holds its own copy
        self._ids = itertools.count(1)
        self._lock = threading.Condition()
        self._responses: dict[Any, dict] = {}
        self.notifications: list[dict] = []
        self._ended = False
        self._write_lock = threading.Lock()
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()

    # ---------------------------------------------------------------- sending

    def send_raw(self, data: bytes) -> None:
        with self._write_lock:
            self.process.stdin.write(data)
            self.process.stdin.flush()

    def send(self, message: dict) -> None:
        self.send_raw(frame(message))

    def notify(self, method: str, params: Any = None) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def start_request(self, method: str, params: Any = None, msg_id: Any = None) -> Any:
        msg_id = next(self._ids) if msg_id is None else msg_id
        self.send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        return msg_id

    def request(self, method: str, params: Any = None) -> dict:
        """The whole response message: {"result": ...} or {"error": {...}}."""
        return self.wait_response(self.start_request(method, params))

    def result(self, method: str, params: Any = None) -> Any:
        answer = self.request(method, params)
        assert "error" not in answer, f"{method} failed: {answer['error']}"
        return answer.get("result")

    # ---------------------------------------------------------------- waiting

    def wait_response(self, msg_id: Any, timeout: float = HANG) -> dict:
        return self._wait(
            lambda: self._responses.pop(json.dumps(msg_id), None),
            f"the answer to request {msg_id!r}",
            timeout,
        )

    def wait_notification(self, method: str, timeout: float = HANG) -> dict:
        def find() -> dict | None:
            return next((n for n in self.notifications if n.get("method") == method), None)

        return self._wait(find, f"a {method} notification", timeout)

    def _wait(self, take: Callable[[], Any], what: str, timeout: float) -> Any:
        box: list = []
        with self._lock:
            self._lock.wait_for(lambda: take_into(box, take) or self._ended, timeout)
        if box:
            return box[0]
        if self._ended:
            raise ServerDied(
                f"the server ended before {what} (exit code {self.process.poll()}); {self.tail()}"
            )
        raise AssertionError(f"no {what} in {timeout:.0f} s: the server hangs; {self.tail()}")

    # ---------------------------------------------------------------- session

    def initialize(
        self, *, encodings: list[str] | None = None, options: Any = None, caps: dict | None = None
    ):
        capabilities = json.loads(json.dumps(caps or INLINE_CAPS))
        if encodings is not None:
            capabilities["general"] = {"positionEncodings": encodings}
        init = self.result(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": None,
                "capabilities": capabilities,
                "initializationOptions": options,
            },
        )
        self.notify("initialized", {})
        return init

    def alive(self) -> bool:
        """True when the server still answers a request (its reader loop and event loop both run)."""
        return "result" in self.request("mercury/stats", {})

    def close(self) -> int | None:
        """shutdown + exit; kill if it does not go. Returns the exit code."""
        with contextlib.suppress(Exception):
            if self.process.poll() is None:
                self.wait_response(self.start_request("shutdown"), timeout=20)
                self.notify("exit")
        with contextlib.suppress(Exception):
            self.process.stdin.close()
        try:
            return self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def tail(self, lines: int = 15) -> str:
        if not self.log or not self.log.exists():
            return "no server log"
        text = self.log.read_text(errors="replace").splitlines()[-lines:]
        return "server log tail:\n" + "\n".join(text)

    # ---------------------------------------------------------------- reading

    def _read_loop(self) -> None:
        stream = self.process.stdout
        try:
            while (message := read_frame(stream)) is not None:
                self._dispatch(message)
        except (ValueError, OSError):
            pass  # a broken frame from the server ends the session; _wait reports it
        finally:
            with self._lock:
                self._ended = True
                self._lock.notify_all()

    def _dispatch(self, message: dict) -> None:
        if "method" in message and "id" in message:
            self.send(_answer_server_request(message))  # progress/create, workspace/configuration
            return
        with self._lock:
            if "id" in message:
                self._responses[json.dumps(message["id"])] = message  # ids may be any JSON
            else:
                self.notifications.append(message)
            self._lock.notify_all()


def take_into(box: list, take: Callable[[], Any]) -> bool:
    """Put what `take` returns into `box`; True when it returned something."""
    value = take()
    if value is not None:
        box.append(value)
    return value is not None


def _answer_server_request(message: dict) -> dict:
    if message["method"] == "workspace/configuration":
        result: Any = [None] * len(message["params"]["items"])
    else:
        result = None
    return {"jsonrpc": "2.0", "id": message["id"], "result": result}


@contextlib.contextmanager
def running_server(
    tmp: Path, *args: str, env: dict[str, str] | None = None, initialize: bool = True, **init: Any
) -> Iterator[StdioServer]:
    """The server under test (fake engine unless `args` say otherwise), initialized and closed after."""
    command = [sys.executable, str(SERVER_SCRIPT), *args]
    server = StdioServer(
        command, env={**os.environ, **(env or {})}, log=tmp / f"server-{os.urandom(3).hex()}.log"
    )
    try:
        if initialize:
            server.initialize(**init)
        yield server
    finally:
        server.close()


# ---------------------------------------------------------------- LSP message helpers


def position(line: int, character: int) -> dict:
    return {"line": line, "character": character}


def open_document(server: StdioServer, uri: str, text: str, language_id: str = "python") -> None:
    server.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": language_id, "version": 1, "text": text}},
    )


def change_document(server: StdioServer, uri: str, version: int, changes: list[dict]) -> None:
    server.notify(
        "textDocument/didChange",
        {"textDocument": {"uri": uri, "version": version}, "contentChanges": changes},
    )


def inline_request(uri: str, line: int, character: int, automatic: bool = False) -> dict:
    return {
        "textDocument": {"uri": uri},
        "position": position(line, character),
        "context": {"triggerKind": 2 if automatic else 1},
    }


def server_view(server: StdioServer, uri: str) -> dict | None:
    """The server's copy of a document: {"text" (None when large), "sha256", "utf16_units"}."""
    return server.result("mercury/debugDocument", {"uri": uri})
