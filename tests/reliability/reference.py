"""A reference model of the client's buffer: LSP edits applied to code units, written from the spec alone.

The server edits Python strings (code points) and converts each position; this model never converts
positions. It keeps the buffer the way the client counts it, one str character per code unit (a UTF-16
code unit, a UTF-8 byte, or a code point for UTF-32), finds lines with the specification's three line
breaks, and splices. Choices where the specification is silent, made the same way by the server:
  - a line past the last one is the end of the document, a column past a line's end is that end;
  - a range whose end precedes its start is read start-first (vscode-languageserver-textdocument);
  - UTF-16: a column between the halves of a surrogate pair splits the pair, as in a UTF-16 editor;
  - UTF-8: a column inside a character's bytes snaps back to the character's first byte.
Text is taken as the server receives it: a high and a low surrogate side by side are one character
after JSON (`"\\ud83d\\ude00"` is one emoji), which matters where a unit is not a UTF-16 one.
"""

from __future__ import annotations

import json
import re

import numpy as np

_BREAK = re.compile(r"\r\n|\r|\n")


def to_units(text: str, encoding: str) -> str:
    """`text`, as sent over JSON, with one character per code unit of `encoding`."""
    text = json.loads(json.dumps(text))
    if encoding == "utf-32":
        return text
    if encoding == "utf-8":
        return text.encode("utf-8", "surrogatepass").decode("latin-1")
    units = np.frombuffer(text.encode("utf-16-le", "surrogatepass"), dtype="<u2")
    return units.astype("<u4").tobytes().decode("utf-32-le", "surrogatepass")


def from_units(units: str, encoding: str) -> str:
    if encoding == "utf-32":
        return units
    if encoding == "utf-8":
        return units.encode("latin-1").decode("utf-8", "surrogatepass")
    return units.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


class ReferenceDocument:
    """The client's view of one document."""

    def __init__(self, text: str, encoding: str = "utf-16"):
        self.encoding = encoding
        self.units = to_units(text, encoding)

    @property
    def text(self) -> str:
        return from_units(self.units, self.encoding)

    def utf16(self) -> bytes:
        """The buffer as UTF-16-LE bytes: equal for a split pair and the joined character."""
        return self.text.encode("utf-16-le", "surrogatepass")

    def line_lengths(self) -> list[int]:
        """Code units of each line, without its break (the last line may be empty)."""
        return [len(line) for line in _BREAK.split(self.units)]

    def apply(self, change: dict) -> None:
        """One entry of didChange's contentChanges."""
        if "range" not in change:
            self.units = to_units(change["text"], self.encoding)
            return
        start = self.offset(change["range"]["start"])
        end = self.offset(change["range"]["end"])
        start, end = min(start, end), max(start, end)
        self.units = self.units[:start] + to_units(change["text"], self.encoding) + self.units[end:]

    def offset(self, position: dict) -> int:
        """Unit offset of an LSP position, clamped as described in the module docstring."""
        starts = [0] + [m.end() for m in _BREAK.finditer(self.units)]
        if position["line"] >= len(starts):
            return len(self.units)
        start = starts[position["line"]]
        found = _BREAK.search(self.units, start)
        end = found.start() if found else len(self.units)
        offset = min(start + position["character"], end)
        if self.encoding == "utf-8":
            while start < offset < end and 0x80 <= ord(self.units[offset]) < 0xC0:  # a continuation byte
                offset -= 1
        return offset
