"""Run untrusted Python (model-completed programs) in a limited subprocess.

Limits, all applied in the child before it execs: CPU seconds (RLIMIT_CPU, the kernel kills a busy
loop with SIGXCPU), address space (RLIMIT_AS, a memory hog gets MemoryError), file size, no core
dumps; a wall-clock timeout kills the whole process group (a sleeping or blocked program uses no
CPU); a fresh temporary directory as cwd and HOME; an empty environment; Python in isolated mode.
Network: where the process may create namespaces (root in most containers) the child enters an
empty network namespace; in every case a small runner replaces socket connections with errors
before the program starts. This is a guard against accidents, not a security boundary.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

_CLONE_NEWNET = 0x40000000

# Runs the program as __main__ after disabling outbound sockets (AF_UNIX pairs still work).
_RUNNER = """\
import socket, sys
def _blocked(*args, **kwargs):
    raise OSError("network disabled in the evaluation sandbox")
socket.socket.connect = _blocked
socket.socket.connect_ex = _blocked
socket.create_connection = _blocked
socket.getaddrinfo = _blocked
sys.argv = ["prog.py"]
with open("prog.py", encoding="utf-8") as f:
    code = compile(f.read(), "prog.py", "exec")
del socket, f, _blocked
exec(code, {"__name__": "__main__", "__builtins__": __builtins__})
"""


@dataclass(frozen=True)
class Limits:
    """Per-run limits; the defaults suit HumanEval checks and Codeforces-size Python programs."""

    cpu_s: int = 10
    wall_s: float = 20.0
    memory_mb: int = 1024
    file_mb: int = 16
    output_chars: int = 1_000_000


@dataclass(frozen=True)
class RunResult:
    """status: "ok" (exit 0), "error" (non-zero exit), "timeout" (CPU or wall), "memory"."""

    status: str
    returncode: int | None
    stdout: str
    stderr: str


def _limit_child(limits: Limits) -> None:
    """preexec_fn: runs in the forked child just before exec, so the limits bind only the program."""
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 1))
    memory = limits.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    size = limits.file_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    try:  # an empty network namespace; fails without CAP_SYS_ADMIN, then the runner's guard remains
        ctypes.CDLL(None, use_errno=True).unshare(_CLONE_NEWNET)
    except (OSError, AttributeError):
        pass


def _classify(returncode: int | None, stderr: str, timed_out: bool) -> str:
    """Map how the child ended to a status; SIGXCPU/SIGKILL after the CPU limit mean timeout."""
    if timed_out or returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return "timeout"
    if returncode == 0:
        return "ok"
    if "MemoryError" in stderr[-2000:]:
        return "memory"
    return "error"


def run_python(program: str, stdin: str = "", limits: Limits | None = None) -> RunResult:
    """Run `program` with `stdin` under `limits` and return how it ended and what it printed."""
    limits = limits or Limits()
    with tempfile.TemporaryDirectory(prefix="mercury-sandbox-") as tmp:
        Path(tmp, "prog.py").write_text(program, encoding="utf-8")
        Path(tmp, "runner.py").write_text(_RUNNER, encoding="utf-8")
        env = {"HOME": tmp, "PATH": "/usr/bin:/bin", "PYTHONHASHSEED": "0", "LANG": "C.UTF-8"}
        proc = subprocess.Popen(
            [sys.executable, "-I", "runner.py"],
            cwd=tmp,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group, so a timeout kills its children too
            preexec_fn=lambda: _limit_child(limits),
        )
        timed_out = False
        try:
            out, err = proc.communicate(stdin.encode("utf-8"), timeout=limits.wall_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
    stdout = out.decode("utf-8", "replace")[: limits.output_chars]
    stderr = err.decode("utf-8", "replace")[-limits.output_chars :]
    return RunResult(_classify(proc.returncode, stderr, timed_out), proc.returncode, stdout, stderr)


def outputs_match(actual: str, expected: str) -> bool:
    """Codeforces-style comparison: the same whitespace-separated tokens, line structure ignored.

    Tokens compare case-insensitively (Codeforces accepts "Yes"/"YES"/"yes" where a problem asks
    for YES/NO; SAFIM's expected outputs mix the cases) and as numbers within 1e-6 when both parse.
    """
    ours, theirs = actual.split(), expected.split()
    return len(ours) == len(theirs) and all(map(_tokens_match, ours, theirs))


def _tokens_match(a: str, b: str) -> bool:
    if a.lower() == b.lower():
        return True
    try:
        x, y = float(a), float(b)
    except ValueError:
        return False
    return abs(x - y) <= 1e-6 * max(1.0, abs(y))
