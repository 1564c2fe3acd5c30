"""Request building: from a document and a cursor to a fill-in-the-middle CompletionRequest.

`read_cursor` validates the position (in the negotiated encoding) and slices the document; it answers
None for a position outside the document instead of raising. `build_request` picks the prefix and
suffix windows by token budget, single- or multi-line mode from the cursor's context, and the language.
The prefix window keeps its first line while the user types (an "anchor") so the engine's K/V cache,
which is reused by longest common token prefix, stays valid across keystrokes (SPM: typing only appends).
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from mercury.denoiser.api import CompletionRequest

from .brackets import scan_lenient
from .config import Config

# languageId (LSP) -> tree-sitter language name used by syntax/ and the engine
LANGUAGE_IDS = {
    "python": "python",
    "javascript": "javascript",
    "javascriptreact": "javascript",
    "typescript": "typescript",
    "typescriptreact": "tsx",
    "java": "java",
    "go": "go",
    "rust": "rust",
    "c": "c",
    "cpp": "cpp",
    "cuda-cpp": "cpp",
}
EXTENSIONS = {
    **dict.fromkeys((".py", ".pyi", ".pyw"), "python"),
    **dict.fromkeys((".js", ".mjs", ".cjs", ".jsx"), "javascript"),
    **dict.fromkeys((".ts", ".mts", ".cts"), "typescript"),
    ".tsx": "tsx",
    ".java": "java",
    ".go": "go",
    ".rs": "rust",
    **dict.fromkeys((".c", ".h"), "c"),
    **dict.fromkeys((".cc", ".cpp", ".cxx", ".hpp", ".hh", ".hxx", ".cu"), "cpp"),
}
LINE_BREAK = re.compile(r"\r\n|\r|\n")  # the LSP's line breaks (str.splitlines also splits at \f, \x1c...)
_PARTIAL = re.compile(r"\w+$")
_SURROGATE = re.compile("[\ud800-\udfff]")
_CLOSERS = frozenset(")]}>\"'`;,")
_BLOCK_OPENERS = (":", "{", "=>", " do", " then")  # a body follows, even before an auto-closed "}"
_LIST_OPENERS = ("(", "[")  # a multi-line argument list only when nothing follows on the line


@dataclass(frozen=True, kw_only=True)
class Cursor:
    """A document split at the cursor, with what request building and post-processing need."""

    uri: str
    language_id: str
    language: str | None  # tree-sitter name, None when unknown (completion still works, unconstrained)
    before: str  # the whole document before the cursor
    after: str  # the whole document after the cursor
    line: int
    column: int  # code points into the line
    line_prefix: str
    line_suffix: str  # rest of the line, without its line break
    next_lines: tuple[str, ...]  # up to 20 lines after the cursor's line
    partial_token: str  # the word being typed, which the item's range replaces
    indent_unit: str  # "\t" or some spaces: the document's indentation style


def language_of(language_id: str, uri: str) -> str | None:
    """The tree-sitter name from the languageId, else from the file extension."""
    if (name := LANGUAGE_IDS.get(language_id.lower())) is not None:
        return name
    return EXTENSIONS.get(Path(uri.split("?", 1)[0]).suffix.lower())


def read_cursor(
    source: str, line: int, character: int, encoding: str, *, uri: str, language_id: str
) -> Cursor | None:
    """The cursor at (line, character) in client units, or None when the position is not in the document."""
    span = line_span(source, line) if character >= 0 else None
    if span is None:
        return None
    text = source[span[0] : span[1]]
    column = column_index(text, character, encoding)
    if column is None:
        return None
    offset = span[0] + column
    after = source[offset:]
    return Cursor(
        uri=uri,
        language_id=language_id,
        language=language_of(language_id, uri),
        before=source[:offset],
        after=after,
        line=line,
        column=column,
        line_prefix=text[:column],
        line_suffix=text[column:],
        next_lines=_next_lines(after),
        partial_token=(m.group(0) if (m := _PARTIAL.search(text[:column])) else ""),
        indent_unit=detect_indent(source),
    )


def next_line(cursor: Cursor, text: str, replaced: int = 0, dedent: int = 0) -> Cursor | None:
    """The cursor at the start of a new line, once `text` is inserted at `cursor` (over `replaced`
    characters of the line suffix and `dedent` of the indentation before it) and Enter is pressed:
    where the next suggestion is wanted after one is accepted. None when the inserted text leaves
    more of the line after it.

    The new line starts empty: its indentation is what the editor or the model puts there (the
    completion cache forwards a suggestion whose indentation the editor has typed).
    """
    if cursor.line_suffix[replaced:]:
        return None
    after = cursor.after[replaced:]  # the old line break, then the lines below
    found = LINE_BREAK.search(after) or LINE_BREAK.search(cursor.before)
    return replace(
        cursor,
        before=cursor.before[: len(cursor.before) - dedent] + text + (found.group(0) if found else "\n"),
        after=after,
        line=cursor.line + len(LINE_BREAK.findall(text)) + 1,
        column=0,
        line_prefix="",
        line_suffix="",
        next_lines=_next_lines(after),
        partial_token="",
    )


def _next_lines(after: str) -> tuple[str, ...]:
    """Up to 20 lines after the cursor's line."""
    return tuple(LINE_BREAK.split(after, maxsplit=21)[1:21])


def line_span(source: str, line: int) -> tuple[int, int] | None:
    """Offsets of the start and end (before its break) of line `line`; None when there is no such line.

    Linear in the offset of the line, with a fast path for files whose every \\r starts a \\r\\n: a
    10 MB document gets one of these per keystroke.
    """
    if line < 0:
        return None
    if line == 0:
        start = 0
    elif "\r" not in source or source.count("\r") == source.count("\r\n"):
        pieces = source.split("\n", line)
        if len(pieces) <= line:
            return None
        start = len(source) - len(pieces[-1])
    else:
        found = next(itertools.islice(LINE_BREAK.finditer(source), line - 1, None), None)
        if found is None:
            return None
        start = found.end()
    end_match = LINE_BREAK.search(source, start)
    return start, end_match.start() if end_match else len(source)


def column_index(text: str, character: int, encoding: str) -> int | None:
    """Code-point index of a client column (utf-8/16/32 units); None past the end of the line."""
    if encoding == "utf-32" or text.isascii():
        return character if character <= len(text) else None
    units = 0
    for index, char in enumerate(text):
        if units >= character:
            return index  # a column inside a multi-unit character snaps to its start
        units += unit_width(char, encoding)
    return len(text) if units >= character else None


def client_units(text: str, encoding: str) -> int:
    """Length of `text` in the client's position units."""
    if encoding == "utf-32" or text.isascii():
        return len(text)
    return sum(unit_width(char, encoding) for char in text)


def unit_width(char: str, encoding: str) -> int:
    """Client units of one code point. A lone surrogate (a UTF-16 client split a pair) is one UTF-16
    unit; in UTF-8 it counts as the 3 bytes its code point would take, rather than raising."""
    if encoding == "utf-8":
        return len(char.encode("utf-8", "surrogatepass"))
    if encoding == "utf-32":
        return 1
    return 2 if ord(char) > 0xFFFF else 1  # utf-16: astral characters are surrogate pairs


def detect_indent(source: str, sample_lines: int = 400) -> str:
    """ "\t" when tab-indented lines dominate, else the most common step between indentation levels."""
    tabs = spaces = 0
    steps: Counter[int] = Counter()
    previous = 0
    for text in source[: 120 * sample_lines].splitlines()[:sample_lines]:
        if not text.strip():
            continue
        tabs += text.startswith("\t")
        width = len(text) - len(text.lstrip(" "))
        spaces += width > 0
        if width > previous:
            steps[width - previous] += 1
        previous = width
    if tabs > spaces:
        return "\t"
    return " " * (steps.most_common(1)[0][0] if steps else 4)


def wants_multiline(line_prefix: str, line_suffix: str, policy: str, code_below: bool = False) -> bool:
    """Multi-line after a block header or on an empty line, unless code of the block is written
    below that line (`has_code_below`); single-line (rest of the line) mid-line."""
    if policy != "auto":
        return policy == "always"
    if line_suffix.strip() and not is_auto_closed(line_suffix):
        return False
    if not line_prefix.strip():
        return not code_below
    head = line_prefix.rstrip()
    if head.endswith(":") and scan_lenient(head).depth > 0:
        return False  # a slice, a dict value or a lambda (`p[1:`), not a block header
    return head.endswith(_BLOCK_OPENERS) or (head.endswith(_LIST_OPENERS) and not line_suffix.strip())


def is_auto_closed(line_suffix: str) -> bool:
    """True when the rest of the line holds only what editors auto-insert: closing brackets, quotes, ;,"""
    rest = line_suffix.strip()
    return bool(rest) and all(char in _CLOSERS or char.isspace() for char in rest)


# ---------------------------------------------------------------- token windows


class TokenCounter:
    """Token counts from the model's tokenizer.json when available, else an estimate of 3 chars a token."""

    def __init__(self, offsets: Callable[[str], list[tuple[int, int]]] | None = None):
        self._offsets = offsets

    @classmethod
    def from_file(cls, path: Path | None) -> TokenCounter:
        if path is None or not path.is_file():
            return cls()
        from tokenizers import Tokenizer  # the Rust tokenizer only: no torch

        tokenizer = Tokenizer.from_file(str(path))
        return cls(lambda text: tokenizer.encode(text, add_special_tokens=False).offsets)

    def count(self, text: str) -> int:
        return len(self._offsets(text)) if self._offsets else -(-len(text) // 3)

    def tail_start(self, text: str, budget: int) -> int:
        """Where the last `budget` tokens of `text` begin."""
        if self._offsets is None:
            return max(0, len(text) - 3 * budget)
        if budget <= 0:
            return len(text)
        # Tokenize the stretch that likely holds `budget` tokens (code runs 3-4 chars a token), and
        # twice as much until it does: never more than the window could hold (16 chars a token).
        width = _FIRST_GUESS * budget
        while True:
            start = max(0, len(text) - width)
            offsets = self._offsets(text[start:])
            if len(offsets) > budget:
                return start + offsets[-budget][0]
            if start == 0 or width >= 16 * budget:
                return start
            width *= 2

    def head_end(self, text: str, budget: int) -> int:
        """Where the first `budget` tokens of `text` end."""
        if self._offsets is None:
            return min(len(text), 3 * budget)
        if budget <= 0:
            return 0
        width = _FIRST_GUESS * budget
        while True:
            window = text[:width]
            offsets = self._offsets(window)
            if len(offsets) > budget:
                return offsets[budget - 1][1]
            if len(window) == len(text) or width >= 16 * budget:
                return len(window)
            width *= 2


_LINES_ABOVE = 50  # lines above the cursor's line searched for a block header or the code above
_FIRST_GUESS = 5  # chars a token tokenized first when sizing a window (code averages 3.6 here)


def prefix_start(before: str, budget: int, counter: TokenCounter, anchor: int | None) -> int:
    """Offset where the prefix window begins: the previous anchor while it fits, else whole lines."""
    if anchor is not None and 0 <= anchor <= len(before) and (anchor == 0 or before[anchor - 1] == "\n"):
        # Past 16 chars a token the text cannot fit, so a paste of megabytes is never tokenized whole.
        if len(before) - anchor <= 16 * budget and counter.count(before[anchor:]) <= budget:
            return anchor
    # Fill only 3/4 of the budget so the next few hundred typed characters keep this start.
    start = counter.tail_start(before, max(1, budget * 3 // 4))
    if start == 0 or before[start - 1] == "\n":
        return start
    next_line = before.find("\n", start)
    return next_line + 1 if next_line != -1 else start


def suffix_end(after: str, budget: int, counter: TokenCounter) -> int:
    """Offset where the suffix window ends, at a line end when one fits (it depends only on `after`)."""
    end = counter.head_end(after, budget)
    if end >= len(after):
        return len(after)
    last_break = after.rfind("\n", 0, end)
    return last_break + 1 if last_break > 0 else end


def indent_padding(cursor: Cursor) -> str:
    """Spaces that finish a half-typed indentation: the cursor sits in a line's leading spaces, at a
    width that is not a multiple of the document's space indent unit (typed one space at a time),
    or, in Python, not yet past the block header above, whose body must be indented deeper."""
    unit, typed = len(cursor.indent_unit), len(cursor.line_prefix)
    if cursor.indent_unit == "\t" or not typed or cursor.line_prefix.strip(" "):
        return ""
    width = -(-typed // unit) * unit
    if cursor.language == "python" and (header := _header_indent(cursor)) is not None:
        width = max(width, header + unit)
    return " " * (width - typed)


def _header_indent(cursor: Cursor) -> int | None:
    """Indentation of the Python block header (a line ending in `:`) that the cursor's line follows,
    blank lines and comments between them skipped; None when the line above is no header."""
    for line in _lines_above(cursor):
        code = line.split("#", 1)[0].rstrip()
        if code:
            # the last line of a header split over lines (`    b):`) is not indented like the header
            split = scan_lenient(code, "python").depth < 0
            return _width(line) if code.endswith(":") and not split else None
    return None


def heads_the_lines_below(cursor: Cursor) -> bool:
    """Is the cursor on an empty line that the code below it is indented deeper than? Then the line
    can only be the header, or the first line of a statement, that the code below continues: one
    line is wanted, not a block (which would be a second body above the one below)."""
    step = _step_below(cursor)
    return step is not None and step > 0


def has_code_below(cursor: Cursor) -> bool:
    """Is the cursor on an empty line with code of its block below it: deeper (the line heads it,
    `heads_the_lines_below`) or at the width this line's code would start (a statement inserted
    between two others)? The block is written on below: one line is wanted, not a block that would
    retell what follows."""
    step = _step_below(cursor)
    return step is not None and step >= 0


def _step_below(cursor: Cursor) -> int | None:
    """How much deeper the next line of code starts than the cursor's empty line's code would
    (negative: shallower); None off an empty line or with no code below."""
    if cursor.line_prefix.strip() or cursor.line_suffix.strip():
        return None
    below = next((line for line in cursor.next_lines if line.strip()), None)
    return None if below is None else _width(below) - _empty_line_width(cursor)


def _empty_line_width(cursor: Cursor) -> int:
    """The width an empty line's code will start at: the indentation typed, finished as
    `indent_padding` finishes it; with none typed, the line above's, a unit deeper where it opens a
    block (editors leave empty lines without indentation)."""
    if cursor.line_prefix:
        return len(cursor.line_prefix) + len(indent_padding(cursor))
    if cursor.language == "python" and (header := _header_indent(cursor)) is not None:
        return header + len(cursor.indent_unit)  # `if x:  # why` opens a block too
    above = next((line for line in _lines_above(cursor) if line.strip()), "")
    opens = above.rstrip().endswith(_BLOCK_OPENERS)
    return _width(above) + (len(cursor.indent_unit) if opens else 0)


def _lines_above(cursor: Cursor) -> Iterator[str]:
    """The lines above the cursor's line, nearest first, at most _LINES_ABOVE of them."""
    end = len(cursor.before) - len(cursor.line_prefix) - 1  # the line break before the cursor's line
    for _ in range(_LINES_ABOVE):
        if end < 0:
            return
        start = cursor.before.rfind("\n", 0, end) + 1
        yield cursor.before[start:end]
        end = start - 1


def _width(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def build_request(
    cursor: Cursor, config: Config, counter: TokenCounter, anchor: int | None = None
) -> tuple[CompletionRequest, int]:
    """The engine request for `cursor`, and the prefix anchor to pass in next time.

    A half-typed indentation is completed in the request (`indent_padding`): the model has seldom
    seen code at such a width, and the syntax constraint rejects every statement there; the caller
    puts the same spaces in front of the answer."""
    start = prefix_start(cursor.before, config.tokens.prefix, counter, anchor)
    end = suffix_end(cursor.after, config.tokens.suffix, counter)
    multiline = wants_multiline(
        cursor.line_prefix, cursor.line_suffix, config.multiline, has_code_below(cursor)
    )
    request = CompletionRequest(
        prefix=whole_characters(cursor.before[start:]) + indent_padding(cursor),
        suffix=whole_characters(cursor.after[:end]),
        prefix_cut=start > 0,
        suffix_cut=end < len(cursor.after),
        language=cursor.language,
        multiline=multiline,
        max_tokens=config.tokens.multi if multiline else config.tokens.single,
        tau=config.tau,
        constrained=config.constrained,
        cache_key=cursor.uri,
        line_budget_ms=config.line_budget_ms or None,
    )
    return request, start


def whole_characters(text: str) -> str:
    """`text` with lone surrogates (left by a UTF-16 client that split a pair) as U+FFFD: neither the
    tokenizer nor msgpack can encode them, and the model has nothing to learn from half a character."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text
