"""Requests go to the model their language is routed to (denoiser/routing.py)."""

from __future__ import annotations

import json
import logging
import shutil

import pytest
from mercury.denoiser.api import CompletionRequest, CompletionResult
from mercury.denoiser.engine import Engine
from mercury.denoiser.routing import (
    LanguageRouter,
    load_serving_engine,
    route_arguments,
    routes_of,
    serving_routes,
)
from mercury.models import ModelNotFound


class Named:
    """A stand-in engine that answers with its name."""

    def __init__(self, name: str):
        self.name, self.requests = name, []

    def complete(self, request, cancelled=None):
        self.requests.append(request)
        return CompletionResult(text=self.name, stop_reason="eom")

    def info(self):
        return {"name": self.name}

    def count_tokens(self, text):
        return len(text)


def test_routes_are_read_from_config_json(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"routes": {"go": "other", "rust": "", "c": 3}}))
    assert routes_of(tmp_path) == {"go": "other"}  # empty or non-string targets are no routes
    for text in ("{}", "not json", '{"routes": ["go"]}', "[]"):
        (tmp_path / "config.json").write_text(text)
        assert routes_of(tmp_path) == {}
    assert routes_of(tmp_path / "absent") == {}


def test_a_routed_model_loads_on_first_use_and_serves_its_language():
    loaded = []

    def load(name):
        loaded.append(name)
        return Named(name)

    main = Named("main")
    router = LanguageRouter(main, {"go": "multi", "rust": "multi"}, load)
    assert router.complete(CompletionRequest(prefix="x = ", language="python")).text == "main"
    assert router.complete(CompletionRequest(prefix="x = ", language=None)).text == "main"
    assert loaded == []  # a Python-only user never loads the routed model
    answer = router.complete(CompletionRequest(prefix="x := ", language="go"))
    assert answer.text == "multi" and answer.extra["model"] == "multi"
    assert router.complete(CompletionRequest(prefix="let x = ", language="rust")).text == "multi"
    assert loaded == ["multi"]  # loaded once, shared by its languages
    assert router.info() == {"name": "main", "routes": {"go": "multi", "rust": "multi"}}
    assert router.count_tokens("abc") == 3


def test_a_routed_model_that_cannot_load_leaves_its_language_to_the_main_model(caplog):
    calls = []

    def load(name):
        calls.append(name)
        raise LookupError(f"unknown model {name!r}")

    router = LanguageRouter(Named("main"), {"go": "missing"}, load)
    with caplog.at_level(logging.WARNING, logger="mercury.denoiser.routing"):
        for _ in range(3):
            assert router.complete(CompletionRequest(prefix="x := ", language="go")).text == "main"
    assert calls == ["missing"]  # tried once, not at every request
    assert "cannot load missing for go requests" in caplog.text


def test_serving_engine_follows_the_folders_routes(tmp_path, tiny_model_dir, tiny_ar_model_dir):
    folder = tmp_path / "routed"
    _routed_folder(tmp_path, tiny_model_dir, {"go": str(tiny_ar_model_dir), "python": str(folder)})
    engine = load_serving_engine(str(folder), constrained=False, backend="torch")
    assert isinstance(engine, LanguageRouter)
    assert engine.routes == {"go": str(tiny_ar_model_dir)}  # a route to the model itself is dropped
    request = dict(prefix='def greet(name):\n    message = "', suffix="\n    return message\n", max_tokens=8)
    alone = {
        path: Engine.load(str(path), constrained=False, backend="torch")
        .complete(CompletionRequest(**request))
        .text
        for path in (folder, tiny_ar_model_dir)
    }
    assert alone[folder] != alone[tiny_ar_model_dir]  # so the answers tell the engines apart
    assert engine.complete(CompletionRequest(**request, language="go")).text == alone[tiny_ar_model_dir]
    assert engine.complete(CompletionRequest(**request, language="python")).text == alone[folder]
    assert engine.engine_for("go").folder == tiny_ar_model_dir
    assert engine.info()["name"] == "routed"


def test_a_folder_without_routes_serves_alone(tiny_model_dir):
    assert isinstance(load_serving_engine(str(tiny_model_dir), constrained=False, backend="torch"), Engine)


def _routed_folder(tmp_path, tiny_model_dir, routes):
    folder = tmp_path / "routed"
    shutil.copytree(tiny_model_dir, folder)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "routes": routes}))
    return folder


def test_command_line_routes_add_to_or_replace_the_configs(tmp_path, tiny_model_dir, tiny_ar_model_dir):
    other = str(tiny_ar_model_dir)
    folder = str(_routed_folder(tmp_path, tiny_model_dir, {"go": other, "rust": "coder-mini-gone"}))
    assert serving_routes(folder) == {"go": other, "rust": "coder-mini-gone"}  # warned about when used
    assert serving_routes(folder, [f"java={other}", f"Go={folder}"]) == {
        "rust": "coder-mini-gone",
        "java": other,
    }
    assert serving_routes(folder, [f"c={other}"], config_routes=False) == {"c": other}
    assert serving_routes(folder, [f"go={tmp_path}/./routed"]) == {
        "rust": "coder-mini-gone"
    }  # itself by path
    with pytest.raises(ValueError, match="use LANGUAGE=MODEL"):
        serving_routes(folder, ["go"])
    with pytest.raises(ModelNotFound, match="available models"):
        serving_routes(folder, ["go=no-such-model"])


def test_servers_refuse_a_bad_route_before_they_start(capsys, tmp_path):
    from mercury.denoiser.service import serve_main
    from mercury.lsp.cli import main as lsp_main

    assert lsp_main(["--route", "go=no-such-model"]) == 2
    assert "available models" in capsys.readouterr().err
    assert lsp_main(["--route", "go"]) == 2
    assert "use LANGUAGE=MODEL" in capsys.readouterr().err
    assert serve_main(["--listen", f"unix:{tmp_path / 's.sock'}", "--route", "=x"]) == 2
    assert "use LANGUAGE=MODEL" in capsys.readouterr().err


def test_a_spawned_daemon_gets_the_servers_route_options():
    from mercury.denoiser.rpc import parse_address
    from mercury.denoiser.service import build_parser
    from mercury.lsp.remote import daemon_command

    address = parse_address("unix:/tmp/x.sock")
    options = route_arguments(["go=m1", "rust=m2"], no_routes=True)
    args = build_parser().parse_args(daemon_command("coder-mini", address, route_options=options)[3:])
    assert args.no_routes and args.route == ["go=m1", "rust=m2"]  # resolved where the daemon runs
    args = build_parser().parse_args(daemon_command("coder-mini", address)[3:])
    assert not args.no_routes and args.route is None  # the daemon reads the model's own routes
    with pytest.raises(ValueError, match="use LANGUAGE=MODEL"):
        route_arguments(["go"], no_routes=False)


def test_mercury_complete_follows_the_routes(tmp_path, tiny_model_dir, tiny_ar_model_dir, capsys):
    from mercury.denoiser.complete import main

    folder = str(_routed_folder(tmp_path, tiny_model_dir, {"go": str(tiny_ar_model_dir)}))
    for language, answered_by in (("go", tiny_ar_model_dir.name), ("python", "routed")):
        assert (
            main(["--model", folder, "--prefix", "def area(width, ", "--language", language, "--json"]) == 0
        )
        assert json.loads(capsys.readouterr().out)["extra"]["model"] == answered_by
    assert main(["--model", folder, "--prefix", "x", "--route", "go"]) == 2
    assert "use LANGUAGE=MODEL" in capsys.readouterr().err
