"""A real headless Neovim driven over msgpack-RPC (`nvim --embed --headless`), for end-to-end tests.

Keys go through `nvim_input`, so insert mode, mappings, autocommands and timers run exactly as when a
person types. Tests never sleep to wait: `wait_until` polls a condition and fails with the last value
it saw. Modeled on the child-process helper of zbirenbaum/copilot.lua (tests/child_helper.lua).
"""

from __future__ import annotations

import os
import select
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack

REPO = Path(__file__).resolve().parents[2]
PLUGIN_DIR = REPO / "editors" / "nvim"


class NvimError(RuntimeError):
    """An RPC request answered with an error (e.g. a Lua error inside nvim_exec_lua)."""


class Nvim:
    """One child Neovim with the plugin on its runtimepath."""

    def __init__(
        self, nvim: str, cwd: Path, env: dict[str, str] | None = None, init: Path | None = None
    ) -> None:
        """`init`: start like a user would, with that init.lua, instead of --clean plus the plugin."""
        self._stderr = tempfile.TemporaryFile()
        startup = ["-u", str(init)] if init else ["--clean"]
        self.proc = subprocess.Popen(
            [nvim, *startup, "--embed", "--headless", "-n", "-i", "NONE"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            cwd=cwd,
            env={**os.environ, **(env or {})},
        )
        self._unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
        self._next_id = 0
        if init is None:
            self.lua(
                "vim.opt.runtimepath:prepend(...); vim.cmd.runtime('plugin/mercury.lua')", str(PLUGIN_DIR)
            )

    def request(self, method: str, *args: Any, timeout: float = 10.0) -> Any:
        self._next_id += 1
        msgid = self._next_id
        assert self.proc.stdin is not None
        self.proc.stdin.write(msgpack.packb([0, msgid, method, list(args)], use_bin_type=True))
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        while True:
            for msg in self._unpacker:
                if msg[0] == 1 and msg[1] == msgid:
                    if msg[2] is not None:
                        raise NvimError(f"{method}: {msg[2]}")
                    return msg[3]
            self._read(deadline, method)

    def _read(self, deadline: float, method: str) -> None:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise TimeoutError(f"Neovim did not answer {method}; stderr: {self.stderr()}")
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            raise NvimError(f"Neovim exited (code {self.proc.poll()}); stderr: {self.stderr()}")
        self._unpacker.feed(chunk)

    def lua(self, code: str, *args: Any) -> Any:
        """Run Lua in the child; `...` holds the arguments, `return` gives the result."""
        return self.request("nvim_exec_lua", code, list(args))

    def command(self, cmd: str) -> None:
        self.request("nvim_command", cmd)

    def input(self, keys: str) -> None:
        """Type keys, in Neovim's notation ("idef add", "<Tab>", "<Esc>")."""
        self.request("nvim_input", keys)

    def wait_until(self, condition: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
        """Poll `condition` until it returns something truthy, and return that."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            last = condition()
            if last:
                return last
            time.sleep(0.02)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")

    def stderr(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")[-2000:]

    def close(self) -> None:
        try:
            self.request("nvim_command", "qa!", timeout=2)
        except (NvimError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._stderr.close()

    # Views of the plugin's state, as plain data.

    def lines(self) -> list[str]:
        return self.lua("return vim.api.nvim_buf_get_lines(0, 0, -1, false)")

    def cursor(self) -> list[int]:
        """(1-based row, 0-based byte column), as nvim_win_get_cursor."""
        return self.lua("return vim.api.nvim_win_get_cursor(0)")

    def mode(self) -> str:
        return self.lua("return vim.api.nvim_get_mode().mode")

    def ghost(self) -> dict[str, Any] | None:
        """The ghost text drawn in the "mercury" namespace: position, inline text, virtual lines."""
        return self.lua(GHOST_LUA)


GHOST_LUA = """
local ns = vim.api.nvim_get_namespaces().mercury
if not ns then return nil end
local marks = vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })
if #marks == 0 then return nil end
local _, row, col, d = unpack(marks[1])
local function join(chunks)
  return table.concat(vim.tbl_map(function(c) return c[1] end, chunks or {}))
end
local virt_lines = vim.tbl_map(join, d.virt_lines or {})
return { row = row, col = col, inline = join(d.virt_text), lines = virt_lines, count = #marks }
"""
