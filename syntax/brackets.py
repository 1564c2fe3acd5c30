"""Bracket balance: which brackets of the middle are left unmatched by it.

Tree-sitter usually reports a stray bracket as an ERROR, but its recovery can fold one into an
error that was already there (the user typed `foo(` and the middle adds `1, 2))`), so the
constraint also checks balance directly. Brackets come from the parse tree's tokens, so a `(`
inside a string or comment is not counted.

Only brackets near the middle can interact with it, so the prefix is reduced once to its stack
of unclosed openers and the suffix to its leading closers that close something before it; each
call then matches a handful of tokens. Offsets are byte offsets into the rendered text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from tree_sitter import Node, Query, QueryCursor

from .languages import get_language

# Opening token -> closing token. `${` opens a JS template substitution, `\{` a Java string
# template, `{|` a Flow exact object type, `[[` a C/C++ attribute.
PAIRS: dict[str, str] = {"(": ")", "[": "]", "{": "}", "${": "}", "\\{": "}", "{|": "|}", "[[": "]]"}
_CLOSERS = frozenset(PAIRS.values())
BRACKET_BYTES = re.compile(rb"[()\[\]{}]")  # every token of PAIRS holds one of these
_PLAIN_OPENER = {")": "(", "]": "[", "}": "{", "|}": "{|", "]]": "[["}


@dataclass(frozen=True, slots=True)
class Bracket:
    start: int  # byte offset
    end: int  # byte offset
    kind: str  # token type, a key or value of PAIRS
    origin: str  # "prefix" | "middle" | "suffix"


@cache
def _bracket_query(language: str) -> Query | None:
    grammar = get_language(language)
    present = []
    for token in (*PAIRS, *_CLOSERS):
        symbol = grammar.id_for_node_kind(token, False)
        if symbol is not None and symbol != 0 and token not in present:
            present.append(token)
    if not present:
        return None
    quoted = " ".join('"' + t.replace("\\", "\\\\") + '"' for t in present)
    return Query(grammar, f"[{quoted}] @b")


def bracket_tokens(language: str, root: Node, lo: int, hi: int, origin: str) -> list[Bracket]:
    """Real (not MISSING) bracket tokens that start in bytes [lo, hi), in text order."""
    query = _bracket_query(language)
    if query is None or lo >= hi:
        return []
    cursor = QueryCursor(query)
    cursor.set_byte_range(lo, hi)
    nodes = cursor.captures(root).get("b", [])
    found = [
        Bracket(n.start_byte, n.end_byte, n.type, origin)
        for n in nodes
        if not n.is_missing and lo <= n.start_byte < hi
    ]
    found.sort(key=lambda b: b.start)
    return found


def reduce_prefix(tokens: list[Bracket]) -> list[Bracket]:
    """The prefix's openers still open at its end, outermost first (pairing as in `_pair`)."""
    return _pair(tokens).open


def reduce_suffix(tokens: list[Bracket]) -> list[Bracket]:
    """The suffix's closers that close a bracket opened before the suffix, in order."""
    depth_stack: list[str] = []
    leading: list[Bracket] = []
    for token in tokens:
        if token.kind in PAIRS:
            depth_stack.append(token.kind)
        elif depth_stack:
            if PAIRS[depth_stack[-1]] == token.kind:
                depth_stack.pop()
        else:
            leading.append(token)
    return leading


def unbalanced(tokens: list[Bracket]) -> tuple[str, list[Bracket]]:
    """The openers, outermost first, that the closers of `tokens` lack, and the openers of
    `tokens` never closed, outermost first."""
    pairing = _pair(tokens)
    return "".join(_PLAIN_OPENER[t.kind] for t in reversed(pairing.lone)), pairing.open


def blamed_brackets(
    prefix_open: list[Bracket],
    middle: list[Bracket],
    suffix_close: list[Bracket] | None,
    *,
    prefix_whole: bool,
    suffix_whole: bool,
) -> list[Bracket]:
    """Brackets of the middle that cannot be balanced, given the window's brackets around it.

    A closer pairs with the innermost opener of its kind; openers it skips over are unclosed.
    Blamed: an opener of the middle that a later closer skips (`foo(` + `[1` + `)`); a closer of
    the middle that finds no opener, when `prefix_whole` (the window starts at the top level, so
    none is missing); a closer of the middle that takes a prefix opener the suffix was closing
    (`for (` + `i++)` + `) {`); and, when `suffix_whole`, an opener of the middle never closed.
    Skipped prefix openers and suffix closers that find nothing are old strays, not blamed.
    `suffix_close` is None for an unfinished draft, whose openers may still be closed later.
    Truncated windows only switch rules off, so they cause no false blame.
    """
    pairing = _pair(prefix_open + middle + (suffix_close or []))
    blamed = [t for t in pairing.skipped if t.origin == "middle"]
    if prefix_whole:
        blamed += [t for t in pairing.lone if t.origin == "middle"]
    if suffix_close is None:
        return blamed
    took_prefix = [
        closer for opener, closer in pairing.pairs if (opener.origin, closer.origin) == ("prefix", "middle")
    ]
    orphans = sum(t.origin == "suffix" for t in pairing.lone)
    extra = orphans - sum(t.origin == "suffix" for t in _pair(prefix_open + suffix_close).lone)
    if extra > 0:
        blamed += took_prefix[-extra:]
    if suffix_whole:
        blamed += [t for t in pairing.open if t.origin == "middle"]
    return blamed


def misaligned(
    prefix_open: list[Bracket],
    middle: list[Bracket],
    suffix_close: list[Bracket],
    indent: Callable[[Bracket], int | None],
) -> list[Bracket]:
    """Closers of the middle that take a prefix opener, where a closer of the suffix that starts its
    line then pairs with an opener on a line of another indentation, though without the middle it
    paired with one of its own (`indent`: a bracket's line's indentation; for a closer, None where
    it does not start its line).

    The middle closed a block early, and the suffix's closers shifted outward by one. Where the
    window ends before the file does, only this shows it: the shifted closers leave none over in
    the window, and Go's grammar takes statements outside a function (`}` then `return true`
    after an `if` body closed the function above the rest of its code)."""
    took = [
        c
        for o, c in _pair(prefix_open + middle + suffix_close).pairs
        if (o.origin, c.origin) == ("prefix", "middle")
    ]
    if not took:
        return []

    def aligned(tokens: list[Bracket]) -> dict[int, bool]:
        pairs = _pair(tokens).pairs
        return {
            c.start: indent(o) == indent(c)
            for o, c in pairs
            if c.origin == "suffix" and indent(c) is not None
        }

    before, after = aligned(prefix_open + suffix_close), aligned(prefix_open + middle + suffix_close)
    return took if any(before.get(start) and not ok for start, ok in after.items()) else []


@dataclass
class _Pairing:
    pairs: list[tuple[Bracket, Bracket]]  # (opener, closer)
    skipped: list[Bracket]  # openers a closer of another kind went past
    lone: list[Bracket]  # closers with no opener of their kind
    open: list[Bracket]  # openers never closed


def _pair(tokens: list[Bracket]) -> _Pairing:
    """Pair each closer with the innermost open bracket of its kind."""
    result = _Pairing([], [], [], [])
    stack: list[Bracket] = []
    for token in tokens:
        if token.kind in PAIRS:
            stack.append(token)
            continue
        depth = next((i for i in range(len(stack) - 1, -1, -1) if PAIRS[stack[i].kind] == token.kind), None)
        if depth is None:
            result.lone.append(token)
            continue
        result.skipped += stack[depth + 1 :]
        result.pairs.append((stack[depth], token))
        del stack[depth:]
    result.open = stack
    return result
