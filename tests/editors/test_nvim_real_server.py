"""The Neovim plugin against the real `mercury-lsp` and a real model, typing in a real Neovim 0.11.

`test_coder_mini` is the product as a user gets it (`mercury-lsp --model coder-mini`); it is skipped,
saying why, only while the server or the shipped model is missing. `test_tiny_model` runs the same
path on the tiny model that tests/conftest.py trains, so the real server is exercised before
coder-mini ships. Model outputs are not fixed: the check is that ghost text appears while typing,
that accepting inserts exactly what was shown, and that the accept reaches the server, which then
completes the line below ahead of Enter (its prefetch).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from tiny_model import MEMORISED

from .conftest import SETUP_LUA, open_python_buffer
from .nvim_child import Nvim

# The file the tiny model memorised (tests/tiny_model.py), so that it has something to say.
SOURCE = MEMORISED
# (line number, text the line is cut to before typing, the key typed): first a cut the tiny model
# memorised (its middle starts with the key), then places where any model that has seen Python goes on.
CONTEXTS = [(2, '    message = "', "h"), (7, "    return width * ", "h"), (3, "    return mes", "s")]
# The engine's state from mercury/stats, once it is past loading ("ready" or "failed"); else false.
ENGINE_READY = """
local client = require('mercury.server').client(0)
if not client then return false end
local answer = client:request_sync('mercury/stats', {}, 5000, 0)
local state = vim.tbl_get(answer or {}, 'result', 'engine', 'state')
return (state == 'ready' or state == 'failed') and state or false
"""
SERVER_COUNT = """
local client = require('mercury.server').client(0)
local answer = client and client:request_sync('mercury/stats', {}, 5000, 0)
return vim.tbl_get(answer or {}, 'result', 'counts', ...) or 0
"""


def mercury_lsp() -> str | None:
    beside = Path(sys.executable).parent / "mercury-lsp"
    return str(beside) if beside.is_file() else shutil.which("mercury-lsp")


def shipped_models() -> list[str]:
    try:
        from mercury.models import available_models
    except ImportError:
        return []
    return available_models()


def type_at(nvim: Nvim, line_nr: int, cut: str, key: str) -> dict | None:
    """Cut line `line_nr` to `cut`, type `key` after it in insert mode; return the ghost text, if any."""
    nvim.input("<Esc>")
    nvim.lua("vim.api.nvim_buf_set_lines(0, ...)", line_nr - 1, line_nr, False, [cut])
    nvim.lua("vim.api.nvim_win_set_cursor(0, {...})", line_nr, len(cut))
    nvim.input("a" + key)  # append after the cursor: the cut text is kept, the key is typed
    typed = cut + key
    nvim.wait_until(lambda: nvim.lines()[line_nr - 1] == typed, "the typed key")
    try:
        return nvim.wait_until(nvim.ghost, f"ghost text after {typed!r}", timeout=30)
    except AssertionError:
        return None  # the model had nothing to add here


def type_and_accept(nvim: Nvim, tmp_path: Path, server_cmd: list[str]) -> None:
    """Open a Python file, type at several places until ghost text appears, accept it, check the buffer."""
    path = tmp_path / "shapes.py"
    path.write_text(SOURCE)
    nvim.lua(SETUP_LUA, server_cmd, None)
    open_python_buffer(nvim, path, timeout=60)
    state = nvim.wait_until(lambda: nvim.lua(ENGINE_READY), "the model to load", timeout=300)
    assert state == "ready", f"engine {state}: " + nvim.lua("return require('mercury').statusline()")
    for line_nr, cut, key in CONTEXTS:
        ghost = type_at(nvim, line_nr, cut, key)
        if ghost is None:
            continue
        before = nvim.lines()
        nvim.input("<Tab>")
        accepted = [cut + key + ghost["inline"], *ghost["lines"]]
        expected = before[: line_nr - 1] + accepted + before[line_nr:]
        nvim.wait_until(lambda: nvim.lines() == expected, f"the accepted text {accepted!r}")  # noqa: B023
        assert nvim.lua(SERVER_COUNT, "accepted") == 1
        if not ghost["lines"]:  # the accepted text ends its line: the server completes the next one
            nvim.wait_until(lambda: nvim.lua(SERVER_COUNT, "prefetches") >= 1, "the prefetch", timeout=30)
        return
    pytest.fail(
        f"no ghost text appeared at any of {len(CONTEXTS)} places; status: "
        + nvim.lua("return require('mercury').statusline()")
    )


@pytest.mark.slow
def test_coder_mini(nvim: Nvim, tmp_path: Path) -> None:
    server = mercury_lsp()
    if server is None:
        pytest.skip("mercury-lsp is not installed (pip install -e . provides it)")
    if "coder-mini" not in shipped_models():
        pytest.skip(f"the coder-mini model is not shipped yet (models/ has: {shipped_models() or 'none'})")
    type_and_accept(nvim, tmp_path, [server, "--model", "coder-mini"])


@pytest.mark.slow
def test_coder_mini_closes_a_list_after_enter(nvim: Nvim, tmp_path: Path) -> None:
    """Enter after a list's last item: Neovim indents the new line like the item, the server's
    closer is shown there, and accepting it puts `]` at the list's own indentation."""
    server = mercury_lsp()
    if server is None:
        pytest.skip("mercury-lsp is not installed (pip install -e . provides it)")
    if "coder-mini" not in shipped_models():
        pytest.skip(f"the coder-mini model is not shipped yet (models/ has: {shipped_models() or 'none'})")
    path = tmp_path / "names.py"
    path.write_text("NAMES = [\n    'alpha',\n    'beta',\n\n\n\ndef main():\n    print(NAMES)\n")
    nvim.lua(SETUP_LUA, [server, "--model", "coder-mini"], None)
    open_python_buffer(nvim, path, timeout=60)
    nvim.lua("vim.api.nvim_win_set_cursor(0, {3, 0})")
    nvim.input("A<CR>")
    nvim.wait_until(lambda: nvim.lines()[3] == "    ", "the new line, indented like the item")
    ghost = nvim.wait_until(nvim.ghost, "the closer's ghost text", timeout=300)
    assert (ghost["inline"], ghost["lines"]) == ("]", [])
    nvim.input("<Tab>")
    nvim.wait_until(
        lambda: nvim.lines()[2:5] == ["    'beta',", "]", ""], "the list closed at its indentation"
    )


@pytest.mark.slow
def test_tiny_model(nvim: Nvim, tmp_path: Path, tiny_model_dir: Path) -> None:
    server = mercury_lsp()
    if server is None:
        pytest.skip("mercury-lsp is not installed (pip install -e . provides it)")
    type_and_accept(nvim, tmp_path, [server, "--model", str(tiny_model_dir)])
