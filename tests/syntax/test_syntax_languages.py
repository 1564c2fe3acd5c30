"""Grammar loading for every language Mercury constrains, and the languageId/extension mapping."""

from __future__ import annotations

import pytest
from mercury.syntax import LANGUAGES, get_language, language_for
from mercury.syntax.languages import parse

# One small valid and one broken program per language.
SNIPPETS = {
    "python": (b"def f(x):\n    return x + 1\n", b"def f(x:\n    return\n"),
    "javascript": (b"const f = (x) => x + 1;\n", b"const f = (x => ;\n"),
    "typescript": (b"function f(x: number): number { return x; }\n", b"function f(x: ): { return; \n"),
    "tsx": (b"const e = <div className='a'>{x}</div>;\n", b"const e = <div>{x</div>;\n"),
    "java": (b"class A { int f(int x) { return x; } }\n", b"class A { int f(int x { return x; } }\n"),
    "go": (
        b"package main\n\nfunc f(x int) int { return x }\n",
        b"package main\n\nfunc f(x int int { return x }\n",
    ),
    "rust": (b"fn f(x: i32) -> i32 { x + 1 }\n", b"fn f(x: i32 -> i32 { x + }\n"),
    "c": (b"int f(int x) { return x + 1; }\n", b"int f(int x { return x + ; }\n"),
    "cpp": (b"template <class T> T f(T x) { return x; }\n", b"template <class T T f(T x) { return x; }\n"),
}


def test_the_eight_languages_are_known() -> None:
    assert set(LANGUAGES) == set(SNIPPETS)


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_grammar_loads_and_parses(name: str) -> None:
    valid, broken = SNIPPETS[name]
    assert not parse(name, valid).root_node.has_error
    assert parse(name, broken).root_node.has_error


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_grammar_is_loaded_once(name: str) -> None:
    assert get_language(name) is get_language(name)


def test_unknown_grammar_is_a_clear_error() -> None:
    with pytest.raises(KeyError, match="cobol"):
        get_language("cobol")


@pytest.mark.parametrize(
    ("language_id", "path", "expected"),
    [
        ("python", None, "python"),
        ("Python", None, "python"),
        ("javascript", None, "javascript"),
        ("javascriptreact", None, "javascript"),
        ("typescript", None, "typescript"),
        ("typescriptreact", None, "tsx"),
        ("java", None, "java"),
        ("go", None, "go"),
        ("rust", None, "rust"),
        ("c", None, "c"),
        ("cpp", None, "cpp"),
        ("tsx", None, "tsx"),
        (None, "/src/app/main.py", "python"),
        (None, "lib/index.mjs", "javascript"),
        (None, "component.jsx", "javascript"),
        (None, "server.ts", "typescript"),
        (None, "View.TSX", "tsx"),
        (None, "Main.java", "java"),
        (None, "cmd/main.go", "go"),
        (None, "src/lib.rs", "rust"),
        (None, "util.h", "c"),
        (None, "util.c", "c"),
        (None, "engine.hpp", "cpp"),
        (None, "engine.cc", "cpp"),
        ("plaintext", "main.go", "go"),  # an unknown id falls back to the extension
        ("markdown", "README.md", None),
        ("cobol", None, None),
        (None, "Makefile", None),
        (None, None, None),
        ("", "", None),
    ],
)
def test_language_for(language_id: str | None, path: str | None, expected: str | None) -> None:
    assert language_for(language_id, path) == expected
