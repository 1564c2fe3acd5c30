"""Where a multi-line completion leaves the block the cursor is in, read from indentation alone.

A completion on an empty line inside a function should finish that function's body, not go on
to write the next function: the later lines are a guess about code the user has not asked for,
and every one of them costs denoising steps. Editor completers cut there for the same reason
(Tabby's scope limit by indentation). The rule works for any language that is indented:

- cursor on a blank line at indentation n: a later line indented less than n is outside; where
  the cursor's own line becomes closing brackets alone (`}`, `});`), it closes the block the cursor
  is in and is all the scope keeps (at a file's end the model goes on to write below the function);
- cursor after text (a header such as `def f(x):` or `foo(`): a later line indented no deeper
  than the cursor's line is outside, except a line that starts with a closing bracket at that
  indentation (`}` or `)`), which closes what the cursor's line opened and is the last one kept.

Blank lines never decide; the first line of the span continues the cursor's line and is never cut.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TAB_WIDTH = 4
CLOSERS = ")]}"
_CLOSERS_ONLY = re.compile(r"[)\]}]+[;,]?")


def _indent(line: str) -> int:
    expanded = line.expandtabs(TAB_WIDTH)
    return len(expanded) - len(expanded.lstrip(" "))


def _last_line_with_text(text: str, end: int) -> str:
    """The last line of text[:end] that is not blank ("" where there is none)."""
    while end > 0:
        begin = text.rfind("\n", 0, end) + 1
        if text[begin:end].strip():
            return text[begin:end]
        end = begin - 1
    return ""


def _leading_tabs(line: str) -> int:
    return len(line) - len(line.lstrip("\t"))


@dataclass(frozen=True)
class IndentScope:
    """The scope of one cursor: `end(text)` is where `text`, written at the cursor, leaves it."""

    floor: int  # a non-blank line indented less than this is outside the scope
    closer_indent: int | None  # a closing-bracket line at this indentation is kept, then the scope ends
    line: str = ""  # the cursor's line up to the cursor
    tabs_above: int = 0  # leading tabs of the last line with text above the cursor's

    @classmethod
    def at(cls, prefix: str) -> IndentScope:
        start = prefix.rfind("\n") + 1
        line = prefix[start:]
        tabs = _leading_tabs(_last_line_with_text(prefix, start - 1))
        if not line.strip():
            return cls(floor=_indent(line), closer_indent=None, line=line, tabs_above=tabs)
        return cls(floor=_indent(line) + 1, closer_indent=_indent(line), line=line, tabs_above=tabs)

    @property
    def blank_line(self) -> bool:
        """Is the cursor on a blank line (nothing but indentation before it)?"""
        return self.closer_indent is None

    def end(self, text: str) -> int | None:
        """Offset of the newline before the first line of `text` outside the scope (the span ends
        there), or None while every line whose indentation is known stays inside."""
        start = text.find("\n")
        if start >= 0 and self.blank_line and _CLOSERS_ONLY.fullmatch(text[:start].strip()):
            return start  # the cursor's own line closes the block it is in
        while start >= 0:
            stop = text.find("\n", start + 1)
            line = text[start + 1 : stop if stop >= 0 else len(text)]
            if line.strip():  # its indentation is settled once a character follows it
                depth = _indent(line)
                if depth == self.closer_indent and line.lstrip(" \t")[0] in CLOSERS:
                    return stop if stop >= 0 else None  # kept whole; the scope ends after it
                if depth < self.floor:
                    return start
            start = stop
        return None
