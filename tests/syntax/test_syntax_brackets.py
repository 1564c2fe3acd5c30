"""Bracket attribution, tested on tiny literal token lists with the expected blame written out
(the way py-tree-sitter tests its lookahead iterator: small input, explicit answer)."""

from __future__ import annotations

from mercury.syntax.brackets import (
    Bracket,
    blamed_brackets,
    bracket_tokens,
    misaligned,
    reduce_prefix,
    reduce_suffix,
)
from mercury.syntax.languages import parse


def _tokens(text: str, origin: str, offset: int = 0) -> list[Bracket]:
    """Bracket tokens for a string of bracket characters; position = offset + index."""
    return [Bracket(offset + i, offset + i + 1, ch, origin) for i, ch in enumerate(text) if ch in "()[]{}"]


def _blame(prefix: str, middle: str, suffix: str | None, whole: bool = True) -> str:
    """The blamed middle brackets, as their characters in order."""
    before = reduce_prefix(_tokens(prefix, "prefix"))
    after = None if suffix is None else reduce_suffix(_tokens(suffix, "suffix", 1000))
    blamed = blamed_brackets(
        before, _tokens(middle, "middle", 100), after, prefix_whole=whole, suffix_whole=whole
    )
    return "".join(middle[b.start - 100] for b in sorted(blamed, key=lambda b: b.start))


def test_balanced_middle_is_not_blamed() -> None:
    assert _blame("f(", "a, [b])", "\n") == ""
    assert _blame("f(", "a, [b]", ")\n") == ""


def test_stray_closer_in_middle() -> None:
    assert _blame("f(", "a))", "\n") == ")"


def test_stray_closer_needs_a_whole_prefix() -> None:
    # The window may have cut off the opener: an unmatched closer is only blamed when the
    # window starts at the top level.
    assert _blame("", "}", "\n", whole=False) == ""
    assert _blame("", "}", "\n", whole=True) == "}"


def test_middle_takes_the_closer_the_suffix_needed() -> None:
    assert _blame("for (", "i = 0; i < n; i++)", ") {}") == ")"


def test_opener_skipped_by_a_suffix_closer() -> None:
    assert _blame("f(", "[1, 2", ")") == "["


def test_unclosed_opener_needs_a_whole_suffix() -> None:
    assert _blame("x = ", "[1, 2", "\n", whole=True) == "["
    assert _blame("x = ", "[1, 2", "\n", whole=False) == ""


def test_draft_openers_may_still_close() -> None:
    assert _blame("x = ", "f([1, 2", None) == ""
    assert _blame("x = (1", "))", None) == ")"


def test_old_strays_are_not_blamed() -> None:
    # A stray `(` above and a stray `]` below belong to the file, not to the middle.
    assert _blame("g(\nif x {", "y()", "}\n]") == ""


def test_a_middle_that_shifts_the_suffixs_closers_to_openers_of_other_indentation_is_blamed() -> None:
    # func {, if { open at widths 0 and 1; the suffix's closers at widths 1 and 0 (the window ends
    # after them). The middle's `}` closes the `if`: right where the suffix's first closer is the
    # function's (the if's was missing), early where it is the if's own.
    prefix = [Bracket(10, 11, "{", "prefix"), Bracket(30, 31, "{", "prefix")]
    widths = {10: 0, 30: 1, 200: 1, 300: 0}
    suffix = [Bracket(200, 201, "}", "suffix"), Bracket(300, 301, "}", "suffix")]
    middle = [Bracket(100, 101, "}", "middle")]

    def indent(bracket: Bracket) -> int | None:
        return widths[bracket.start]

    assert misaligned(prefix, middle, suffix, indent) == middle
    assert misaligned(prefix, middle, suffix[1:], indent) == []  # the suffix needed the `}`
    assert misaligned(prefix, [], suffix, indent) == []


def test_reductions() -> None:
    assert "".join(b.kind for b in reduce_prefix(_tokens("a(b[c]d{e", "prefix"))) == "({"
    assert "".join(b.kind for b in reduce_suffix(_tokens("x)]y(z)}", "suffix"))) == ")]}"


def test_tokens_come_from_the_parse_not_the_text() -> None:
    source = b'x = "(" + f(a)  # )\n'
    tree = parse("python", source)
    found = bracket_tokens("python", tree.root_node, 0, len(source), "prefix")
    assert [(b.kind, b.start) for b in found] == [("(", 11), (")", 13)]
