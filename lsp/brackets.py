"""A small bracket scanner for post-processing: which brackets are open, skipping strings and comments.

It is deliberately approximate (no grammar): good enough to tell whether a completion closes a bracket
that the suffix already closes, which is the usual way a fill-in-the-middle span breaks a file
(Continue's BracketMatchingService follows the same "only close what we opened" policy), and how the
line of each open bracket is indented, which a line that closes it should match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

OPENERS = {"(": ")", "[": "]", "{": "}"}
CLOSERS = {close: open_ for open_, close in OPENERS.items()}
HASH_COMMENT_LANGUAGES = frozenset(
    "python ruby shellscript sh bash zsh perl r yaml toml makefile dockerfile elixir julia nim".split()
)
# The characters that can change the scan's state; the scan jumps over everything else, which keeps a
# request's 10 kB of context at well under a millisecond (a step per character took 4 ms).
_CODE_STOPS = {True: re.compile(r"[()\[\]{}\"'`#]"), False: re.compile(r"[()\[\]{}\"'`/]")}
_INDENT = re.compile(r"[ \t]*")
_STRING_STOPS = {quote: re.compile("[\\\\\n" + re.escape(quote) + "]") for quote in "\"'`"}


@dataclass
class ScanState:
    stack: list[str] = field(default_factory=list)  # open brackets, innermost last
    opened: list[tuple[str, int]] = field(default_factory=list)  # each open bracket's (scanned text, index)
    unmatched: list[str] = field(default_factory=list)  # closers that matched nothing, in order: they
    # close brackets opened before the scanned text
    quote: str | None = None  # the delimiter of the string we are inside
    block_comment: bool = False
    line_comment: bool = False  # the scanned text ended inside a `#` or `//` comment

    @property
    def depth(self) -> int:
        return len(self.stack) - len(self.unmatched)

    def copy(self) -> ScanState:
        return replace(self, stack=list(self.stack), opened=list(self.opened), unmatched=list(self.unmatched))

    def inside_the_innermost_block(self) -> int:
        """How many open brackets, innermost first, lie inside the innermost `{` that an earlier line
        than the scanned text's last opened (all of them when there is none). Such a brace is taken
        for a block, a function's or a type's body, which runs on for many lines."""
        pairs = zip(reversed(self.stack), reversed(self.opened), strict=True)  # kept in step by `scan`
        for count, (bracket, (text, i)) in enumerate(pairs):
            if bracket == "{" and text.find("\n", i) >= 0:
                return count
        return len(self.stack)

    def ended_by(self, line: str) -> int:
        """How many open brackets, innermost first, a line of code below them shows to be closed
        before it: one less indented than the line each was opened on, or as indented without
        starting with its closer (well-indented code has nothing else there)."""
        width, body = len(_INDENT.match(line).group(0)), line.lstrip(" \t")
        ended = 0
        for bracket, (text, i) in zip(reversed(self.stack), reversed(self.opened), strict=True):
            opener = len(_line_indent(text, i))
            if width > opener or (width == opener and body.startswith(OPENERS[bracket])):
                break
            ended += 1
        return ended

    def innermost_indent(self) -> str:
        """The leading whitespace of the line that holds the innermost open bracket."""
        return _line_indent(*self.opened[-1])


def _line_indent(text: str, i: int) -> str:
    """The leading whitespace of the line of `text` that holds index i."""
    return _INDENT.match(text, text.rfind("\n", 0, i) + 1).group(0)


@dataclass(frozen=True)
class Stop:
    """Where a scan stopped early: the index of a closer of the wrong kind, or one that closes too much."""

    index: int
    reason: str


def scan(
    text: str,
    language: str = "",
    state: ScanState | None = None,
    floor: int | None = None,
    strict: bool = True,
) -> ScanState | Stop:
    """Scan `text` from `state`; with `floor`, stop at the first closer that takes the depth below it.

    `strict` stops at a closer of the wrong kind; otherwise it closes the innermost bracket anyway.
    """
    state = state.copy() if state is not None else ScanState()
    hash_comments = language in HASH_COMMENT_LANGUAGES
    i = 0
    code_stops = _CODE_STOPS[hash_comments]
    while i < len(text):
        if not (state.quote or state.block_comment or state.line_comment):
            found = code_stops.search(text, i)
            if found is None:
                break
            i = found.start()
        skipped = _skip_non_code(text, i, state, language, hash_comments)
        if skipped is not None:
            i = skipped
            continue
        char = text[i]
        if char in OPENERS:
            state.stack.append(char)
            state.opened.append((text, i))
        elif char in CLOSERS:
            if strict and state.stack and state.stack[-1] != CLOSERS[char]:
                return Stop(i, "mismatch")
            if floor is not None and state.depth - 1 < floor:
                return Stop(i, "closes too much")
            if state.stack:
                state.stack.pop()
                state.opened.pop()
            else:
                state.unmatched.append(char)
        i += 1
    return state


def _skip_non_code(text: str, i: int, state: ScanState, language: str, hash_comments: bool) -> int | None:
    """The index after the comment or string text at `i` (updating `state`), or None at code."""
    if state.line_comment:  # a span typed inside a comment: its brackets are prose up to the line end
        end = text.find("\n", i)
        state.line_comment = end == -1
        return len(text) if end == -1 else end
    if state.block_comment:
        end = text.find("*/", i)
        state.block_comment = end == -1
        return len(text) if end == -1 else end + 2
    if state.quote is not None:
        return _skip_string(text, i, state)
    if text.startswith("#" if hash_comments else "//", i):  # in Python, // is floor division
        end = text.find("\n", i)
        state.line_comment = end == -1
        return len(text) if end == -1 else end
    if not hash_comments and text.startswith("/*", i):
        state.block_comment = True
        return i + 2
    if (quote := _quote_at(text, i, language)) is not None:
        state.quote = quote
        return i + len(quote)
    return None


def _quote_at(text: str, i: int, language: str) -> str | None:
    for quote in ('"""', "'''") if language == "python" else ():
        if text.startswith(quote, i):
            return quote
    char = text[i]
    if char == "'" and language == "rust":
        # Lifetimes ('a) are not strings; char literals are 'x' or '\n'.
        return "'" if text[i + 1 : i + 2] == "\\" or text[i + 2 : i + 3] == "'" else None
    return char if char in "\"'`" else None


def _skip_string(text: str, i: int, state: ScanState) -> int:
    """Advance through string contents; single-quoted strings also end at a line break (error recovery)."""
    quote = state.quote or ""
    found = _STRING_STOPS[quote[0]].search(text, i)
    if found is None:
        return len(text)
    i = found.start()
    char = text[i]
    if char == "\\":
        return i + 2
    if text.startswith(quote, i):
        state.quote = None
        return i + len(quote)
    if char == "\n" and len(quote) == 1 and quote != "`":
        state.quote = None
    return i + 1


def net_closers(text: str, language: str = "") -> list[str]:
    """The closing brackets of `text` that close what it did not open, in order (the suffix's debt to
    the prefix)."""
    return scan_lenient(text, language).unmatched


def scan_lenient(text: str, language: str = "", state: ScanState | None = None) -> ScanState:
    """The scanner state at the end of `text`, tolerating mismatched closers in it."""
    result = scan(text, language, state, strict=False)
    assert isinstance(result, ScanState)  # without a floor and non-strict, a scan never stops
    return result
