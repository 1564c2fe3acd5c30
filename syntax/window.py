"""The slice of a file around the cursor that the syntax check parses, and byte/char offset maps.

A completion can only create errors near the cursor, so parsing a few dozen lines either side
is enough, and it keeps a 10,000-line file as cheap as a 100-line one. The cut is made at a line
that starts a top-level item (no indentation, begins with a word), so the window begins and ends
where a parser expects a new statement (before the cursor, where none lies beyond the minimum
distance, the first one within it); where no such line is near, the cut falls at the minimum
distance and the errors that causes are present in the baseline parse too, so they are not
blamed on the completion (see constraint.py, which also supplies, for Python, the brackets such
a cut leaves unmatched).

Window offsets are character offsets into the caller's strings; everything that reaches
tree-sitter is UTF-8 bytes (`encode`), and `CharMap` turns byte offsets back into characters.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate

# A window line that starts with one of these continues the statement above it (Python's
# `else:` after an `if` block, `} else {` style is indented or starts with "}"), so it is not a
# place to cut.
_CONTINUATIONS = ("else", "elif", "except", "finally", "catch")
# A line that may start a top-level item: it begins with a letter, `_`, `@` (decorators,
# annotations) or `$`, with no indentation.
_CUT_LINE = re.compile(r"^(?:[^\W\d]|[@$])", re.MULTILINE)


@dataclass(frozen=True)
class WindowConfig:
    """How much text around the cursor to parse, in lines (defaults suit the sampler's budget)."""

    before: int = 30  # lines of prefix always kept
    after: int = 30  # lines of suffix always kept
    extend: int = 300  # further lines searched for a top-level line to cut at
    max_chars: int = 200_000  # hard cap per side, for minified files with huge lines


@dataclass(frozen=True)
class Window:
    prefix: str  # the end of the file's prefix that is parsed
    suffix: str  # the start of the file's suffix that is parsed
    whole_start: bool = True  # prefix starts at the file's start or at a top-level line
    whole_end: bool = True  # suffix ends at the file's end or before a top-level line
    closer: str = ""  # closes a string or comment that the suffix ends inside (parsed after it)


def encode(text: str) -> bytes:
    """UTF-8 bytes of `text`; lone surrogates (from broken clients) pass through, never raise."""
    return text.encode("utf-8", "surrogatepass")


def decode(data: bytes) -> str:
    """The text `encode` made `data` from (slices at line or token boundaries keep whole characters)."""
    return data.decode("utf-8", "surrogatepass")


BLOCK_COMMENTS = frozenset({"c", "cpp", "java", "javascript", "typescript", "tsx", "go", "rust"})
# Delimiters of strings that span lines: Python and Java text blocks, Go raw strings (`` `...` ``,
# long help texts in Go programs).
PYTHON_TRIPLE_QUOTES = ('"""', "'''")
MULTILINE_QUOTES = {"python": PYTHON_TRIPLE_QUOTES, "java": ('"""',), "go": ("`",)}


class _LiteralScan:
    """Tells whether a line start lies inside a block comment or a triple-quoted string.

    Comment text often starts at column 0 ("Returns the ..."), and a window cut there parses
    prose as code, whose errors then swallow the code around the cursor. This is a text
    heuristic (a `/*` inside a string fools it), which is enough to steer a cut. The scan keeps
    its state at the last position asked about and counts delimiters only over the stretch it
    moves, so a walk costs about one pass over the text. Positions must be line starts, where
    no delimiter can straddle a step.
    """

    def __init__(self, text: str, pos: int, comment: bool, odd: list[bool], language: str | None) -> None:
        self.text, self.pos = text, pos
        self.comments = language is None or language in BLOCK_COMMENTS
        self.triples = MULTILINE_QUOTES.get(language, ()) if language else PYTHON_TRIPLE_QUOTES
        self.comment = comment and self.comments  # a `/*` before `pos` is still open
        self.opened_before = self.comment  # ... before the text (a suffix scan after the prefix's)
        self.odd = odd  # per triple delimiter: an odd number of them before `pos`
        self.last_open = self.last_close = -1  # backward scans: last `/*`, `*/` before `pos`
        # Brace languages: `{` minus `}` before `pos`. A column-0 line inside a function (badly
        # formatted code) is no top-level line; text counting is fooled by braces in strings,
        # which only makes the cut fall back to the minimum context.
        self.braces = language in BLOCK_COMMENTS
        self.depth = 0

    @classmethod
    def at_end(cls, prefix: str, language: str | None, cut: bool = False) -> _LiteralScan:
        """The scan at the end of `prefix`; `cut`: the prefix starts after the file's start."""
        scan = cls(prefix, len(prefix), False, [], language)
        if scan.comments:
            scan.last_open, scan.last_close = prefix.rfind("/*"), prefix.rfind("*/")
            scan.comment = scan.last_open > scan.last_close
        opened = starts_in_docstring(prefix, scan.triples)
        scan.odd = [(prefix.count(q) % 2 == 1) != (q == opened) for q in scan.triples]
        scan.depth = prefix.count("{") - prefix.count("}") if scan.braces else 0
        if scan.braces and cut:
            # A client's bounded prefix that begins inside a function closes blocks it never
            # opened: the top level is where its items end, not its first line's depth.
            scan.depth -= _lowest_depth(prefix)
        return scan

    def top_level(self, pos: int) -> bool:
        """Move to line start `pos`; True when it is outside literals and (brace languages)
        outside every `{` block."""
        return not self.inside(pos) and self.depth == 0

    def inside(self, pos: int) -> bool:
        """Move to line start `pos` (either way) and say whether it is inside a literal."""
        lo, hi = min(pos, self.pos), max(pos, self.pos)
        pairs = zip(self.triples, self.odd, strict=True)
        self.odd = [odd != (self.text.count(q, lo, hi) % 2 == 1) for q, odd in pairs]
        if self.comments:
            self.comment = self._comment_after_move(pos)
        if self.braces:
            delta = self.text.count("{", lo, hi) - self.text.count("}", lo, hi)
            self.depth += delta if pos > self.pos else -delta
        self.pos = pos
        return self.comment or any(self.odd)

    def _comment_after_move(self, pos: int) -> bool:
        if pos > self.pos:  # forward: the last delimiter in the stretch decides
            opened, closed = self.text.rfind("/*", self.pos, pos), self.text.rfind("*/", self.pos, pos)
            self.last_open, self.last_close = max(self.last_open, opened), max(self.last_close, closed)
            return self.comment if opened == closed else opened > closed
        # Backward: whichever delimiter comes last before `pos`. A remembered one stays valid
        # while it lies before `pos`, so each delimiter is searched for once per walk.
        if self.last_open + 2 > pos:
            self.last_open = self.text.rfind("/*", 0, pos)
        if self.last_close + 2 > pos:
            self.last_close = self.text.rfind("*/", 0, pos)
        if self.last_open == self.last_close:  # neither before `pos`: as it was when the text began
            return self.opened_before
        return self.last_open > self.last_close


def _lowest_depth(text: str) -> int:
    """The least `{` minus `}` count right after a `}` that starts a line (0 where none goes below
    0): where a prefix cut inside a top-level item leaves it. An indented `}` is no evidence (a
    prefix inside one long function, above a column-0 label)."""
    depth = lowest = 0
    for match in _BRACES.finditer(text):
        depth += 1 if match.group() == "{" else -1
        if match.group() == "}" and (match.start() == 0 or text[match.start() - 1] == "\n"):
            lowest = min(lowest, depth)
    return lowest


_BRACES = re.compile("[{}]")
_OPENS_AFTER = ("=", "(", "[", "{", ",", ":", "return", "yield", "+", "%")
_PROSE = re.compile(r"[A-Za-z]+ [A-Za-z]+ [A-Za-z]+")  # three plain words in a row
_CODE_LINE = re.compile(
    r"[ \t]*(?:(?:import|from|def|class|if|for|while|try|with|return|raise)\b|@|#|\w+\s*=)"
)
# For brace languages, whose code lines are not Python's: what code has and prose rarely does
# (braces, semicolons, assignments, a call's parenthesis, a comment or a keyword first), looked for
# outside string literals, whose words are not the line's (`panic("internal error: mode has ...")`).
_CODE_MARKS = re.compile(
    r"[{};=]|\w\(|^\s*(?://|/\*|\*)"
    r"|^\s*(?:var|const|type|func|return|if|else|for|while|do|switch|case|default|go|defer|break|continue|"
    r"goto|let|mut|fn|pub|use|impl|match|package|import|public|private|protected|static|final|new)\b"
)
_STRING_LITERAL = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'')


def starts_in_docstring(prefix: str, triples: tuple[str, ...]) -> str | None:
    """The triple quote that `prefix` starts inside of, when it was cut from the middle of a file
    inside a docstring (None when it seems to start in code).

    Counting delimiters from a cut start gets every literal inverted, and a parse of such a window
    is all errors (and slow). The first triple quote tells: it closes a string when it ends a line
    of prose, or stands alone below a line that cannot open one (a header ends in `:`, an
    assignment in `=`), or stands alone on the first line with code after it.
    """
    found = [(i, q) for q in triples if (i := prefix.find(q)) >= 0]
    if not found:
        return None
    at, quote = min(found)
    line_start = prefix.rfind("\n", 0, at) + 1
    before = prefix[line_start:at].strip().rstrip("rRbBuUfF").rstrip()  # `x = f"""`: after `=`
    if before:
        return None if before.endswith(_OPENS_AFTER) else quote
    head = prefix[:line_start].rstrip()
    if head:
        previous = head[head.rfind("\n") + 1 :].strip()
        return None if previous.endswith(_OPENS_AFTER) or previous.startswith("#") else quote
    line_end = prefix.find("\n", at)
    rest = prefix[at + len(quote) : line_end if line_end >= 0 else len(prefix)].strip()
    following = prefix[line_end + 1 :].lstrip("\r\n") if line_end >= 0 else ""
    return quote if not rest and _CODE_LINE.match(following) else None


def docstring_place(prefix: str, suffix: str, file_start: bool) -> int | None:
    """Where the text of a docstring opened at the cursor would go on below it, as an offset in
    `suffix` (the first line below the cursor's that holds text), or None.

    A docstring's place: the cursor's line holds only indentation, and the line above ends a
    block header (`def f(x):`) or only comments precede it (`file_start`: `prefix` starts the
    file). Its text: that line reads as prose (three plain words in a row, no code statement;
    a text heuristic, like `starts_in_docstring`).
    """
    line_start = prefix.rfind("\n") + 1
    if prefix[line_start:].strip():
        return None
    above = [line for line in prefix[:line_start].splitlines() if line.strip()]
    header = bool(above) and above[-1].split("#")[0].rstrip().endswith(":")
    module_start = file_start and all(line.lstrip().startswith("#") for line in above)
    if not (header or module_start):
        return None
    return prose_line(suffix, below_cursor=True)


def prose_line(suffix: str, below_cursor: bool, braces: bool = False) -> int | None:
    """Offset in `suffix` of its first line that holds text, when that line reads as prose (three
    plain words in a row, no code statement; with `braces`, outside string literals and without
    _CODE_MARKS), or None. The rest of the cursor's line counts unless `below_cursor`."""
    for match in re.finditer(r"\n([^\n]*)" if below_cursor else r"(?:^|\n)([^\n]*)", suffix):
        if match.group(1).strip():
            line = _STRING_LITERAL.sub("", match.group(1)) if braces else match.group(1)
            prose = _PROSE.search(line) and not _CODE_LINE.match(line)
            return match.start(1) if prose and not (braces and _CODE_MARKS.search(line)) else None
    return None


def _lines_back(text: str, line_start: int, lines: int) -> int:
    """Start of the line `lines` lines above the line that starts at `line_start` (or 0).

    `rsplit` over a chunk finds the newlines in C; the chunk doubles until it holds enough.
    """
    if lines <= 0 or line_start == 0:
        return line_start
    width = 128 * lines
    while True:
        chunk_start = max(0, line_start - 1 - width)
        parts = text[chunk_start : line_start - 1].rsplit("\n", lines)
        if len(parts) > lines:
            return chunk_start + len(parts[0]) + 1
        if chunk_start == 0:
            return 0
        width *= 2


def _lines_forward(text: str, pos: int, lines: int) -> int:
    """Position just after the `lines`-th newline at or after `pos` (or the text's end)."""
    if lines <= 0:
        return pos
    width = 128 * lines
    while True:
        chunk_end = min(len(text), pos + width)
        parts = text[pos:chunk_end].split("\n", lines)
        if len(parts) > lines:
            return chunk_end - len(parts[-1])
        if chunk_end == len(text):
            return len(text)
        width *= 2


def _window_start(prefix: str, config: WindowConfig, scan: _LiteralScan, cut: bool) -> tuple[int, bool]:
    """Character offset in `prefix` where the parsed window begins (a line start), and
    whether that is the file's start or a top-level line (`cut`: the prefix is not the file's
    start)."""
    near = _lines_back(prefix, prefix.rfind("\n") + 1, config.before)
    far = _lines_back(prefix, near, config.extend)
    # The fallback, used when no top-level line is near: the nearest line start at least
    # `before` lines up that is not inside a comment or docstring.
    fallback = near
    while scan.inside(fallback):
        if fallback <= far:  # a literal all the way up: the first line below it, if the cursor is
            fallback = _below_literal(prefix, near, scan)
            break
        fallback = _lines_back(prefix, fallback, 1)
    # A regex finds the candidate lines in C; only those are checked, nearest first, and the
    # literal scan moves backwards through the text once.
    for match in reversed(list(_CUT_LINE.finditer(prefix, far, fallback + 1))):
        if _starts_item(prefix, match.start(), scan):
            return match.start(), True
    if far == 0 and not cut and not scan.inside(0):
        return 0, True
    # The window would begin inside a block (a client's bounded prefix starts inside a long
    # function): a top-level line fewer than `before` lines up parses better than that cut.
    for match in _CUT_LINE.finditer(prefix, fallback + 1, prefix.rfind("\n") + 1):
        if _starts_item(prefix, match.start(), scan):
            return match.start(), True
    if far == 0 and not scan.inside(0):  # the prefix's start, unless it was cut inside a docstring
        return 0, False
    return fallback, False


def _starts_item(text: str, pos: int, scan: _LiteralScan) -> bool:
    return not text.startswith(_CONTINUATIONS, pos) and scan.top_level(pos)


def _below_literal(prefix: str, near: int, scan: _LiteralScan) -> int:
    """The first line start after `near` that is outside literals, or `near` when there is none
    before the cursor's line (the cursor is in the literal). A client's bounded prefix often
    begins inside a long module docstring; parsed from there, its prose is a string of errors."""
    cursor_line = prefix.rfind("\n") + 1
    pos = near
    while pos < cursor_line and scan.inside(pos):
        pos = _lines_forward(prefix, pos, 1)
    return near if scan.inside(pos) else pos


def _window_end(suffix: str, config: WindowConfig, scan: _LiteralScan) -> tuple[int, bool]:
    """Character offset in `suffix` where the parsed window ends (a line start, or the end),
    and whether that is the file's end or a top-level line."""
    near = _lines_forward(suffix, 0, config.after + 1)  # +1: the rest of the cursor's line
    far = _lines_forward(suffix, near, config.extend)
    fallback = near
    while fallback < len(suffix) and scan.inside(fallback):
        if fallback >= far:
            fallback = near
            break
        fallback = _lines_forward(suffix, fallback, 1)
    for match in _CUT_LINE.finditer(suffix, fallback, far + 1):
        if _starts_item(suffix, match.start(), scan):
            return match.start(), True
    if far < len(suffix):
        return fallback, False
    if not scan.inside(len(suffix)):
        return len(suffix), True
    return _before_open_literal(suffix, scan)


def _before_open_literal(suffix: str, scan: _LiteralScan) -> tuple[int, bool]:
    """Where the window ends when the suffix itself ends inside a string or comment: a client
    that sends a bounded context cuts the file anywhere. Parsed to that end, the literal swallows
    the code before it into one error that a completion's own errors hide in, so the window ends
    at the line where the literal opens. The rest of the cursor's line is always kept (a literal
    open there, or at the cursor, is closed instead: `_closer`)."""
    floor = _lines_forward(suffix, 0, 1)
    pos = len(suffix)
    while pos > floor and scan.inside(pos):
        pos = suffix.rfind("\n", 0, pos - 1) + 1
    if pos < floor or scan.inside(pos):  # the literal opens on the cursor's line
        return len(suffix), False
    return pos, False


_CLOSING = (b"}", b")", b"]")


def blocks_around(text: bytes, cursor: int) -> Iterator[tuple[int, int]]:
    """Byte ranges [start, end) of the blocks of `text` around byte `cursor`, nearest first, read
    from indentation: a block runs from a line indented less than every line between it and the
    cursor's line to the first line after the cursor's line indented no deeper, included where
    that line closes a bracket. Stops at a block whose end is not in `text`.

    A window cut inside a long block parses as errors from its edges; these blocks are the
    candidates it can narrow to (constraint.py checks each by a parse)."""
    pos = text.rfind(b"\n", 0, cursor) + 1  # the cursor's line
    after = text.find(b"\n", cursor) + 1 or len(text)  # the line after it
    line = text[pos:after].rstrip(b"\r\n")
    level = indent_width(line) if line else _empty_line_depth(text, pos, after)
    while pos > 0 and level > 0:
        start = text.rfind(b"\n", 0, pos - 1) + 1
        line, pos = text[start:pos], start
        if not line.strip() or line.lstrip().startswith(_CLOSING) or indent_width(line) >= level:
            continue
        level = indent_width(line)
        end = _block_end(text, after, level)
        if end is None:
            return
        yield start, end


def _block_end(text: bytes, pos: int, level: int) -> int | None:
    """End of a block at indentation `level` whose lines go on from line start `pos`: before the
    first line indented no deeper, or after it where it closes a bracket at `level` (a shallower
    closer is an outer block's: this one's is missing); None past the text."""
    while pos < len(text):
        end = text.find(b"\n", pos) + 1 or len(text)
        line = text[pos:end]
        if line.strip() and indent_width(line) <= level:
            return end if line.lstrip().startswith(_CLOSING) and indent_width(line) == level else pos
        pos = end
    return None


def _empty_line_depth(text: bytes, line_start: int, next_line: int) -> int:
    """Indentation of an empty cursor line (the middle brings its own): that of the deeper of the
    nearest lines with text above and below it."""
    above = next((line for line in reversed(text[:line_start].splitlines()) if line.strip()), b"")
    below = next((line for line in text[next_line:].splitlines() if line.strip()), b"")
    return max(indent_width(above), indent_width(below))


def indent_width(line: bytes) -> int:
    """Bytes of leading spaces and tabs."""
    return len(line) - len(line.lstrip(b" \t"))


def cut_window(
    prefix: str,
    suffix: str,
    config: WindowConfig | None = None,
    language: str | None = None,
    prefix_cut: bool = False,
    suffix_cut: bool = False,
) -> Window:
    """The part of prefix and suffix around the cursor that is worth parsing.

    `language` (one of languages.LANGUAGES) tells which literals to avoid cutting inside;
    None assumes both block comments and triple quotes. `prefix_cut` / `suffix_cut`: the prefix
    starts after the file's start / the suffix stops before its end (a client's bounded context), so
    that edge is no whole one, and a literal open where the suffix stops is closed further on
    (`_closer`).
    """
    config = config or WindowConfig()
    back = _LiteralScan.at_end(prefix, language, prefix_cut)
    forth = _LiteralScan(suffix, 0, back.comment, list(back.odd), language)
    forth.depth = back.depth
    start, whole_start = _window_start(prefix, config, back, prefix_cut)
    end, whole_end = _window_end(suffix, config, forth)
    whole_start = whole_start and not (prefix_cut and start == 0)
    whole_end = whole_end and not (suffix_cut and end == len(suffix))
    if start < len(prefix) - config.max_chars:
        start, whole_start = len(prefix) - config.max_chars, False
    if end > config.max_chars:
        end, whole_end = config.max_chars, False
    closer = _closer(forth, end) if suffix_cut or end < len(suffix) else ""
    return Window(prefix[start:], suffix[:end], whole_start, whole_end, closer)


def _closer(scan: _LiteralScan, end: int) -> str:
    """The delimiter that closes the literal open at `end` (the window's end), or "".

    The window can only end inside a literal that is open at the cursor's line: the cursor sits in a
    docstring whose end the client did not send (or one the file never closes, where the middle must
    close it: then no closer is asked for). Parsed unclosed, it makes an error that moves with every
    draft, so each one looks wrong; closed, the drafts are checked as text in a string.
    """
    if not scan.inside(end):
        return ""
    if scan.comment:
        return "*/"
    return next(q for q, odd in zip(scan.triples, scan.odd, strict=True) if odd)


class CharMap:
    """Maps byte offsets in `encode(text)` to character offsets in `text`.

    ASCII text (the common case) maps one to one without building a table. A byte offset that
    falls inside a multi-byte character maps to that character's start.
    """

    def __init__(self, text: str) -> None:
        self._ascii = text.isascii()
        self._starts: list[int] = []
        if not self._ascii:
            widths = (_utf8_width(ord(ch)) for ch in text)
            self._starts = [0, *accumulate(widths)]  # byte offset where character i begins
        self.chars = len(text)

    def char(self, byte_offset: int) -> int:
        if byte_offset <= 0:
            return 0
        if self._ascii:
            return min(byte_offset, self.chars)
        return min(bisect_right(self._starts, byte_offset) - 1, self.chars)

    def char_end(self, byte_offset: int) -> int:
        """Like `char`, but an offset inside a character rounds up to the next character."""
        index = self.char(byte_offset)
        if not self._ascii and index < self.chars and self._starts[index] < byte_offset:
            return index + 1
        return index


def _utf8_width(code_point: int) -> int:
    if code_point < 0x80:
        return 1
    if code_point < 0x800:
        return 2
    return 3 if code_point < 0x10000 else 4
