"""Run untrusted programs (model-completed Python, and JS, C++, Java or Rust where a toolchain
exists) in a limited subprocess.

Limits, all applied in the child before it execs: CPU seconds (RLIMIT_CPU, the kernel kills a busy
loop with SIGXCPU), address space (RLIMIT_AS, a memory hog gets MemoryError), file size, no core
dumps; a wall-clock timeout kills the whole process group (a sleeping or blocked program uses no
CPU); a fresh temporary directory as cwd and HOME; an empty environment; Python in isolated mode.
Network: where the process may create namespaces (root in most containers) the child enters an
empty network namespace; in every case a small runner replaces socket connections with errors
before a Python program starts. This is a guard against accidents, not a security boundary.

Other languages (`run_program`) are built, when they need it, and run in the same kind of child:
compilers get more CPU time and memory than the program (`build_limits`); the JVM is told to keep
its heap and reserved spaces small, which it needs to start at all under RLIMIT_AS. A language
whose tools are not on PATH has no recipe (`can_run` is False) and is not executed.
"""

from __future__ import annotations

import ctypes
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, replace
from functools import cache
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
    """status: "ok" (exit 0), "error" (non-zero exit), "timeout" (CPU or wall), "memory",
    "build-error" (the compiler rejected the program)."""

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


def _spawn(argv: list[str], cwd: str, stdin: str, limits: Limits) -> RunResult:
    """Run `argv` in `cwd` under `limits` with an empty environment and its own process group."""
    env = {"HOME": cwd, "PATH": "/usr/bin:/bin", "PYTHONHASHSEED": "0", "LANG": "C.UTF-8"}
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
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


def run_python(program: str, stdin: str = "", limits: Limits | None = None) -> RunResult:
    """Run `program` with `stdin` under `limits` and return how it ended and what it printed."""
    with tempfile.TemporaryDirectory(prefix="mercury-sandbox-") as tmp:
        Path(tmp, "prog.py").write_text(program, encoding="utf-8")
        Path(tmp, "runner.py").write_text(_RUNNER, encoding="utf-8")
        return _spawn([sys.executable, "-I", "runner.py"], tmp, stdin, limits or Limits())


# --- other languages --------------------------------------------------------------------------

# Small heap and reserved spaces: by default the JVM reserves about 1 GiB of class space alone,
# more than RLIMIT_AS allows; C1 only, since these programs run for well under a second.
_JVM_FLAGS = (
    "-Xmx256m",
    "-Xss8m",
    "-XX:+UseSerialGC",
    "-XX:CompressedClassSpaceSize=64m",
    "-XX:ReservedCodeCacheSize=64m",
    "-XX:TieredStopAtLevel=1",
)


@dataclass(frozen=True)
class Recipe:
    """How to build and run one program: write `source`, run `build` (if any), then `run`.
    `quiet`: the program passes only if it also prints nothing (JS tests use console.assert,
    which prints a message instead of throwing)."""

    source: str
    build: tuple[str, ...]
    run: tuple[str, ...]
    quiet: bool = False


def _rustc() -> str | None:
    """The real rustc of the default toolchain. The rustup proxy on PATH needs $HOME to find it,
    which the sandbox's empty environment does not have."""
    proxy = shutil.which("rustc")
    if proxy is None:
        return None
    try:
        sysroot = subprocess.run([proxy, "--print", "sysroot"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    real = Path(sysroot.stdout.strip(), "bin", "rustc")
    return str(real) if sysroot.returncode == 0 and real.is_file() else proxy


def _javascript() -> Recipe | None:
    node = shutil.which("node")
    return Recipe("prog.js", (), (node, "prog.js"), quiet=True) if node else None


def _cpp() -> Recipe | None:
    gxx = shutil.which("g++")
    return (
        Recipe("prog.cpp", (gxx, "-std=c++17", "-O1", "-o", "prog", "prog.cpp"), ("./prog",)) if gxx else None
    )


def _java() -> Recipe | None:
    javac, java = shutil.which("javac"), shutil.which("java")
    if not (javac and java):
        return None
    build = (javac, *(f"-J{flag}" for flag in _JVM_FLAGS), "-nowarn", "Main.java")
    return Recipe("Main.java", build, (java, *_JVM_FLAGS, "-cp", ".", "Main"))


def _rust() -> Recipe | None:
    rustc = _rustc()
    if rustc is None:
        return None
    # HumanEval-X Rust tests are a #[cfg(test)] module: build the test harness and run it.
    build = (rustc, "--edition", "2021", "--test", "-A", "warnings", "-o", "prog", "prog.rs")
    return Recipe("prog.rs", build, ("./prog", "--test-threads=1"))


_RECIPES = {"javascript": _javascript, "cpp": _cpp, "java": _java, "rust": _rust}


@cache
def recipe(language: str) -> Recipe | None:
    """The build/run recipe for `language` on this machine; None when its tools are missing."""
    make = _RECIPES.get(language)
    return make() if make else None


def can_run(language: str) -> bool:
    """True when programs in `language` can be executed here (Python always can)."""
    return language == "python" or recipe(language) is not None


def build_limits(limits: Limits) -> Limits:
    """Compilers need more than the programs they build (rustc and javac start slowly)."""
    return replace(
        limits,
        cpu_s=max(limits.cpu_s, 60),
        wall_s=max(limits.wall_s, 120.0),
        memory_mb=max(limits.memory_mb, 2048),
    )


def run_program(language: str, program: str, limits: Limits | None = None, stdin: str = "") -> RunResult:
    """Build (if needed) and run `program`; status "ok" means it passed (see `Recipe.quiet`).
    Raises LookupError when `can_run(language)` is False."""
    limits = limits or Limits()
    if language == "python":
        return run_python(program, stdin, limits)
    how = recipe(language)
    if how is None:
        raise LookupError(f"no toolchain to run {language} here")
    with tempfile.TemporaryDirectory(prefix="mercury-sandbox-") as tmp:
        Path(tmp, how.source).write_text(program, encoding="utf-8")
        if how.build:
            built = _spawn(list(how.build), tmp, "", build_limits(limits))
            if built.status != "ok":
                status = "timeout" if built.status == "timeout" else "build-error"
                return RunResult(status, built.returncode, built.stdout, built.stderr)
        result = _spawn(list(how.run), tmp, stdin, limits)
    if how.quiet and result.status == "ok" and (result.stdout.strip() or result.stderr.strip()):
        return replace(result, status="error")
    return result


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
