"""Send each request to the model for its language: a model folder's config.json may name, per
language, another model that completes it better ("routes": {"go": "coder-mini-multi", ...}).

coder-mini was trained on Python alone and writes Python into a Go file; coder-mini-multi saw Go
and Rust too and completes those, Java, JavaScript and C++ far better, Python worse (its card;
BENCHMARKS.md, section 1). With routes, `--model coder-mini` serves each language with the better
of the two, out of the box. A routed model is loaded when the first request of its language comes,
so a Python-only user never pays for it; if it cannot be loaded, its languages stay with the main
model (with a warning once), so a route never costs a completion.

`load_serving_engine` is what the language server and `mercury serve` load; `mercury eval` and the
benchmarks load `Engine` itself, so that they measure the model they name.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mercury.models import resolve_model

from .api import CompletionRequest, CompletionResult, never_cancelled

log = logging.getLogger(__name__)

EngineLoader = Callable[[str], Any]


def routes_of(folder: Path) -> dict[str, str]:
    """The folder's language -> model routes (none when config.json has no valid "routes")."""
    try:
        routes = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("routes", {})
    except (OSError, ValueError, AttributeError):
        return {}
    if not isinstance(routes, dict):
        return {}
    return {str(lang): str(model) for lang, model in routes.items() if isinstance(model, str) and model}


class LanguageRouter:
    """An engine that hands each request to the engine of its language, else to the main one.

    One lock serialises completions across all the engines, as one engine's own lock does: they
    share the same cores, and a second model running beside the first would slow both."""

    def __init__(self, main: Any, routes: dict[str, str], load: EngineLoader):
        self.main, self.routes, self._load = main, dict(routes), load
        self._engines: dict[str, Any] = {}  # model name -> loaded engine, or None where loading failed
        self._names = {id(main): main.info()["name"]}  # what each engine's answers say answered them
        self._lock = threading.Lock()

    def engine_for(self, language: str | None) -> Any:
        """The engine that completes `language` (loading its model on first use)."""
        model = self.routes.get(language or "")
        if model is None:
            return self.main
        if model not in self._engines:
            try:
                engine = self._engines[model] = self._load(model)
                self._names[id(engine)] = engine.info()["name"]
            except Exception as exc:  # a missing or broken routed model: its languages stay here
                log.warning(
                    "cannot load %s for %s requests (%s); the main model serves them", model, language, exc
                )
                self._engines[model] = None
        loaded = self._engines[model]
        return self.main if loaded is None else loaded

    def complete(
        self, request: CompletionRequest, cancelled: Callable[[], bool] = never_cancelled
    ) -> CompletionResult:
        with self._lock:
            engine = self.engine_for(request.language)
            result = engine.complete(request, cancelled)
        result.extra["model"] = self._names[id(engine)]  # the server counts its calls per model
        return result

    def info(self) -> dict:
        return {**self.main.info(), "routes": dict(self.routes)}

    def warm_up(self) -> None:
        self.main.warm_up()

    def count_tokens(self, text: str) -> int:
        return self.main.count_tokens(text)


def parse_route(text: str) -> tuple[str, str]:
    """`LANGUAGE=MODEL` (a tree-sitter language name, a registry name or folder) as a pair."""
    language, sep, model = text.partition("=")
    if not sep or not language.strip() or not model.strip():
        raise ValueError(f"bad route {text!r}: use LANGUAGE=MODEL, for example go=coder-mini-multi")
    return language.strip().lower(), model.strip()


def serving_routes(model: str, added: list[str] | None = None, config_routes: bool = True) -> dict[str, str]:
    """The routes a server uses for `model`: its config.json's (unless `config_routes` is False)
    with `added` ("LANGUAGE=MODEL") over them. A route to `model` itself, by name or by path, keeps
    that language on it.
    Raises ValueError for a malformed route, ModelNotFound for a model that `added` names and that
    does not exist (a config's route to a missing model is only warned about, when first used)."""
    main = resolve_model(model)
    routes = routes_of(main) if config_routes else {}
    for language, target in map(parse_route, added or []):
        resolve_model(target)
        routes[language] = target
    return {language: target for language, target in routes.items() if not _same_folder(target, main)}


def _same_folder(target: str, main: Path) -> bool:
    """True when `target` names the folder `main` (by registry name or by any path to it)."""
    try:
        return resolve_model(target).resolve() == main.resolve()
    except LookupError:  # a config's route to a missing model: kept, and warned about when used
        return False


def load_serving_engine(model: str, routes: dict[str, str] | None = None, **options: Any) -> Any:
    """The engine a server runs for `model`: the model itself, wrapped in a LanguageRouter where
    `routes` (default: `serving_routes(model)`) send some languages to other models, which load
    with the same options."""
    from .engine import Engine  # torch is imported here

    def load(name: str) -> Any:
        return Engine.load(name, **options)

    main = load(model)
    routes = serving_routes(model) if routes is None else routes
    return LanguageRouter(main, routes, load) if routes else main


def add_route_options(parser: Any) -> None:
    """`--route LANGUAGE=MODEL` and `--no-routes`, shared by mercury-lsp and mercury serve."""
    parser.add_argument(
        "--route",
        action="append",
        metavar="LANGUAGE=MODEL",
        help="complete LANGUAGE (a tree-sitter name: go, rust, javascript, ...) with MODEL; repeatable, "
        "added to the routes in the model's config.json (`--route go=coder-mini` keeps Go on coder-mini)",
    )
    parser.add_argument(
        "--no-routes", action="store_true", help="ignore the routes in the model's config.json"
    )


def route_arguments(added: list[str] | None, no_routes: bool) -> list[str]:
    """The route options as given on a command line, checked, for a spawned `mercury serve`, which
    reads the model's own routes itself (the daemon may see other model folders than the client)."""
    for text in added or []:
        parse_route(text)  # a malformed route fails here, not in the daemon
    return [
        *(["--no-routes"] if no_routes else []),
        *(arg for text in added or [] for arg in ("--route", text)),
    ]
