"""The settings each editor integration sends are ones mercury-lsp understands, so none triggers an
"unknown setting" warning in the editor, and their command lines parse.

Sources: editors/vscode/package.json (defaults of the settings forwarded by settings.ts
`serverSettings`), editors/nvim (server.settings), editors/helix/languages.toml, editors/emacs/*.el.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

EDITORS = Path(__file__).resolve().parents[2] / "editors"

config = pytest.importorskip("mercury.lsp.config", reason="the server package is not importable")
cli = pytest.importorskip("mercury.lsp.cli", reason="the server package is not importable")


def assert_understood(settings: object) -> None:
    _, problems = config.parse_config(settings)
    assert problems == [], problems


def test_vscode_forwards_known_settings() -> None:
    properties = json.loads((EDITORS / "vscode" / "package.json").read_text())["contributes"][
        "configuration"
    ]["properties"]
    default = {key: spec["default"] for key, spec in properties.items()}
    # The shape of settings.ts serverSettings(), filled with package.json's defaults.
    forwarded = {
        "enable": default["mercury.enable"],
        "languages": default["mercury.languages"],
        "multiline": default["mercury.multiline"],
        "debounce": {"mode": default["mercury.debounce.mode"], "ms": default["mercury.debounce.ms"]},
        "prefetch": default["mercury.prefetch"],
    }
    assert_understood(forwarded)
    assert_understood({"mercury": forwarded})  # as workspace/didChangeConfiguration carries it
    for choice in properties["mercury.multiline"]["enum"]:
        assert_understood({"multiline": choice})
    for choice in properties["mercury.debounce.mode"]["enum"]:
        assert_understood({"debounce": {"mode": choice}})


def test_nvim_multiline_choices_are_the_servers() -> None:
    source = (EDITORS / "nvim" / "lua" / "mercury" / "config" / "server.lua").read_text()
    choices = re.search(r"multiline = \{ c\.multiline, function\(v\) return (.*?) end", source).group(1)
    for choice in re.findall(r'"(\w+)"', choices):
        assert_understood({"multiline": choice})


def test_helix_config() -> None:
    helix = tomllib.loads((EDITORS / "helix" / "languages.toml").read_text())
    server = helix["language-server"]["mercury"]
    assert server["command"] == "mercury-lsp"
    cli.build_parser().parse_args(server["args"])
    assert_understood(server["config"])
    assert all("mercury" in language["language-servers"] for language in helix["language"])


def test_emacs_initialization_options() -> None:
    eglot = (EDITORS / "emacs" / "mercury-eglot.el").read_text()
    literal = re.search(r':initializationOptions \(:multiline "(\w+)"\)', eglot)
    assert literal, "mercury-eglot.el should send :multiline"
    assert_understood({"multiline": literal.group(1)})
    lsp_mode = (EDITORS / "emacs" / "mercury-lsp-mode.el").read_text()
    custom = re.search(
        r'defcustom mercury-lsp-multiline "(\w+)".*?:type \'\(choice (.*?)\)\)', lsp_mode, re.S
    )
    assert custom, "mercury-lsp-mode.el should define mercury-lsp-multiline"
    for choice in [custom.group(1), *re.findall(r'\(const "(\w+)"\)', custom.group(2))]:
        assert_understood({"multiline": choice})
    cli.build_parser().parse_args(["--model", "coder-mini"])
