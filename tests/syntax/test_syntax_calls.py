"""Arity of calls to functions defined in the same Python file (syntax/calls.py)."""

from __future__ import annotations

import pytest
from mercury.syntax.calls import CallChecker, Signature
from mercury.syntax.languages import parse

DEFS = "def scale(x, factor=2, *, rounding=None):\n    return x * factor\n\n\n"


def _ranges(source: str, prefix: str, middle: str) -> list[str]:
    """Texts of the middle that `CallChecker` flags when `middle` is typed after `prefix`."""
    text = (prefix + middle + "\n").encode()
    start, end = len(prefix.encode()), len((prefix + middle).encode())
    checker = CallChecker(source + prefix, "\n")
    found = checker.ranges(parse("python", text).root_node, text, start, end)
    return [text[start + a : start + b].decode() for a, b in found]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ("(a, b=1, *args, c, **kw)", Signature((("a", False), ("b", True)), True)),
        ("(a: int, b: str = '', /, c=3)", Signature((("a", False), ("b", True), ("c", True)), False)),
        ("(*, key)", Signature((), False)),
        ("(*args: int, **kw: str)", Signature((), True)),
        ("()", Signature((), False)),
    ],
)
def test_signature(params: str, expected: Signature) -> None:
    assert CallChecker(f"def f{params}:\n    pass\n", "").signature("f") == expected


@pytest.mark.parametrize(
    "source",
    [
        "@cache\ndef f(a):\n    pass\n",  # a decorator may change the signature
        "class A:\n    def f(self, a):\n        pass\n",  # a method
        "def f(a):\n    pass\n\n\ndef f(a, b):\n    pass\n",  # defined twice
        "def f(a):\n    pass\n\n\nf = print\n",  # rebound
        "from os.path import f\n\n\ndef f(a):\n    pass\n",  # imported too
        "def f(a, b=(1, 2:\n    pass\n",  # broken parameter list
        "x = 1\n",  # not defined here
    ],
)
def test_unknown_signatures_are_left_alone(source: str) -> None:
    assert CallChecker(source, "").signature("f") is None


def test_too_many_positional_arguments() -> None:
    assert _ranges(DEFS, "y = ", "scale(1, 2, 3, 4)") == ["3, 4"]


def test_missing_required_argument_blames_the_closing_parenthesis() -> None:
    assert _ranges(DEFS, "y = ", "scale()") == [")"]
    assert _ranges(DEFS, "y = ", "scale(factor=3)") == [")"]


@pytest.mark.parametrize(
    "middle",
    ["scale(1)", "scale(1, 3)", "scale(x=1)", "scale(1, rounding=2)", "scale(*args)", "scale(**options)"],
)
def test_fitting_calls_pass(middle: str) -> None:
    assert _ranges(DEFS, "y = ", middle) == []


def test_only_calls_closed_by_the_middle_are_checked() -> None:
    # The call's `)` comes from the prefix: the user wrote this call, not the middle.
    assert _ranges(DEFS, "y = scale(1, 2, 3)", " + 1") == []
    # A method call through an attribute is not checked against a plain def of the same name.
    assert _ranges(DEFS, "y = ", "obj.scale(1, 2, 3)") == []
