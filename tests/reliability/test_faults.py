"""Faults: the engine daemon killed mid-request, model files missing or damaged, log folders that
cannot be written. In each case the editor gets an answer (possibly empty) and a message that says what
went wrong and what to do, and completions come back once the cause is gone.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from mercury.denoiser.rpc import Address
from mercury.denoiser.service import lock_path

from .harness import (
    StdioServer,
    inline_request,
    open_document,
    running_server,
)

HERE = Path(__file__).resolve().parent
GATED_DAEMON = HERE / "gated_daemon.py"
FAKE_DAEMON = HERE.parent / "lsp" / "fake_daemon.py"
NO_DEBOUNCE = {"debounce": {"mode": "fixed", "ms": 0}}


def wait_for(check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Poll a condition; the timeout only turns a hang into a failure."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def suggestions(server: StdioServer, uri: str, line: int, character: int) -> list[str]:
    answer = server.request("textDocument/inlineCompletion", inline_request(uri, line, character))
    assert "error" not in answer, answer
    return [item["insertText"] for item in (answer["result"] or {"items": []})["items"]]


def stop_daemons(pids_file: Path) -> None:
    """SIGTERM every daemon this test started (their pids are recorded one per line)."""
    if not pids_file.exists():
        return
    for pid in {int(line) for line in pids_file.read_text().split()}:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass


# ---------------------------------------------------------------- the daemon dies


def test_daemon_killed_mid_request_answers_empty_then_serves_again(short_tmp: Path):
    """SIGKILL the daemon while it denoises: the pending request answers empty without waiting for a
    new daemon (the new one cannot load until the test opens its gate), requests during the restart
    answer empty too, and once the restarted daemon is up completions return."""
    address, gate = Address(path=str(short_tmp / "engine.sock")), short_tmp / "gate"
    env = {"MERCURY_TEST_GATE": str(gate)}
    args = ("--engine", str(address), "--daemon", str(GATED_DAEMON))
    try:
        with running_server(short_tmp, *args, env=env, options=NO_DEBOUNCE) as server:
            uri = "file:///kill.py"
            open_document(server, uri, "total = \nslow = \n")
            assert suggestions(server, uri, 0, 8) == ["price * quantity"]
            pending = server.start_request("textDocument/inlineCompletion", inline_request(uri, 1, 7))
            wait_for(gate.with_suffix(".busy").exists, "the slow request to reach the daemon")
            os.kill(int(lock_path(address).read_text().split()[0]), signal.SIGKILL)

            assert server.wait_response(pending)["result"]["items"] == []
            starts = gate.with_suffix(".starts")
            wait_for(lambda: len(starts.read_text().split()) == 2, "the server to start a new daemon")
            fresh = "file:///after.py"  # the first answer is cached for kill.py; engine failures are not
            open_document(server, fresh, "total = \n")
            assert not gate.exists()  # so no daemon can answer yet...
            assert suggestions(server, fresh, 0, 8) == []  # ...and requests do not wait for one

            gate.touch()
            wait_for(
                lambda: suggestions(server, fresh, 0, 8) == ["price * quantity"], "completions to return"
            )
    finally:
        stop_daemons(gate.with_suffix(".starts"))


# ---------------------------------------------------------------- logs that cannot be written


def test_unwritable_log_file_still_serves(short_tmp: Path):
    """The real `mercury-lsp` CLI with --log-file in a folder that does not exist (root can write
    anywhere else): it logs to stderr instead, says so, and completes through a running daemon."""
    address = Address(path=str(short_tmp / "engine.sock"))
    daemon = subprocess.Popen([sys.executable, str(FAKE_DAEMON), "--listen", str(address)])
    try:
        wait_for(lambda: os.path.exists(address.path), "the daemon to listen")
        bad_log = short_tmp / "missing" / "deeper" / "lsp.log"
        command = [
            sys.executable,
            "-m",
            "mercury.lsp.cli",
            "--engine",
            str(address),
            "--log-file",
            str(bad_log),
        ]
        server = StdioServer(command, log=short_tmp / "stderr.log")
        try:
            server.initialize(options=NO_DEBOUNCE)
            open_document(server, "file:///log.py", "total = \n")
            assert suggestions(server, "file:///log.py", 0, 8) == ["price * quantity"]
        finally:
            server.close()
        assert "cannot write the log file" in server.tail(50)
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)


def test_unwritable_runtime_folder_still_serves(short_tmp: Path):
    """A loopback TCP daemon keeps its log and lock file in $XDG_RUNTIME_DIR/mercury; when that cannot
    be created, the server starts the daemon without a log and the daemon runs without its lock."""
    not_a_folder = short_tmp / "runtime-is-a-file"
    not_a_folder.write_text("")
    with socket.socket() as probe:  # a free loopback port for the daemon
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gate = short_tmp / "gate"
    env = {"XDG_RUNTIME_DIR": str(not_a_folder), "MERCURY_TEST_GATE": str(gate)}
    try:
        args = ("--engine", f"127.0.0.1:{port}", "--daemon", str(GATED_DAEMON))
        with running_server(short_tmp, *args, env=env, options=NO_DEBOUNCE) as server:
            open_document(server, "file:///run.py", "total = \n")
            assert suggestions(server, "file:///run.py", 0, 8) == ["price * quantity"]
            assert "without one" in server.tail(50)
    finally:
        stop_daemons(gate.with_suffix(".starts"))
