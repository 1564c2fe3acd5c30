"""The server's copy of each open document, kept equal to the client's through incremental edits.

pygls applies edits with its own position codec, which puts an edit after a lone \\r line break, one
character early at the end of the last line, and after the \\n when a column passes the end of a line
(it clamps to length - 1 of the line *with* its break). Here positions follow the LSP specification:
a line ends at \\n, \\r\\n or \\r; a line past the last one means the end of the document; a column past
the end of its line means the end of that line; a reversed range is read start-first (as
vscode-languageserver-textdocument does). A UTF-16 column between the two halves of a surrogate pair
splits the pair, as it does in a UTF-16 client's buffer; a UTF-8 column inside a character snaps to
its start (a str cannot hold half a character). tests/reliability/test_fuzz_documents.py checks all
of this against a reference that edits UTF-16 code units.

A document never reads the file its URI names: the client's text is the only source.
"""

from __future__ import annotations

import re

from lsprotocol import types
from pygls.workspace import TextDocument, Workspace

from .context import line_span, unit_width

_LSP_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
_HIGH = range(0xD800, 0xDC00)
_LOW = range(0xDC00, 0xE000)


class LspTextDocument(TextDocument):
    """A pygls document with LSP line breaks, specification-exact edits and no file access."""

    @property
    def source(self) -> str:
        return self._source or ""  # pygls would read the file at the URI's path when no text came

    @property
    def lines(self) -> tuple[str, ...]:
        """Lines with their breaks (str.splitlines would also break at \\f, \\x1c-\\x1e, \\x85, \\u2028)."""
        return tuple(_LSP_LINE.findall(self.source))

    @property
    def encoding(self) -> str:
        encoding = self._position_codec.encoding
        return str(getattr(encoding, "value", encoding))

    def apply_change(self, change: types.TextDocumentContentChangeEvent) -> None:
        if isinstance(change, types.TextDocumentContentChangePartial):
            self._source = apply_edit(self.source, change.range, change.text, self.encoding)
        else:
            self._source = change.text


def use_lsp_documents(workspace: Workspace) -> None:
    """Make `workspace` create LspTextDocument objects (pygls has no public hook for the class)."""

    def create(
        uri: str, source: str | None = None, version: int | None = None, language_id: str | None = None
    ) -> LspTextDocument:
        return LspTextDocument(
            uri,
            source=source,
            version=version,
            language_id=language_id,
            sync_kind=workspace._sync_kind,
            position_codec=workspace.position_codec,
        )

    workspace._create_text_document = create


def apply_edit(source: str, edit_range: types.Range, text: str, encoding: str) -> str:
    """`source` with `edit_range` (client units) replaced by `text`."""
    start, split_start = locate(source, edit_range.start, encoding)
    end, split_end = locate(source, edit_range.end, encoding)
    if (end, split_end) < (start, split_start):  # a split pair's second half comes after its first
        (start, split_start), (end, split_end) = (end, split_end), (start, split_start)
    if split_end:
        source, end = _split_pair(source, end), end + 1
    if split_start:
        if not (split_end and start == end - 1):  # a different character from the one just split
            source, end = _split_pair(source, start), end + 1
        start += 1
    result = source[:start] + text + source[end:]
    # An edit can bring a high and a low surrogate together again: keep the character whole.
    result = _join_pair(result, start + len(text))
    return _join_pair(result, start)


def locate(source: str, position: types.Position, encoding: str) -> tuple[int, bool]:
    """Code-point offset of `position`, clamped as the LSP says; True when it falls inside a UTF-16
    surrogate pair (the offset is then that character's)."""
    span = line_span(source, position.line)
    if span is None:
        return len(source), False
    start, end = span
    if encoding == "utf-32" or source[start:end].isascii():  # one unit a character: a minified line is fast
        return min(start + position.character, end), False
    units = 0
    for index in range(start, end):
        if units >= position.character:
            return index, False
        width = unit_width(source[index], encoding)
        if units + width > position.character:
            return index, encoding == "utf-16" and width == 2
        units += width
    return end, False


def _split_pair(source: str, index: int) -> str:
    """`source` with the astral character at `index` written as its two surrogate code points."""
    pair = source[index].encode("utf-16-le")
    high, low = int.from_bytes(pair[:2], "little"), int.from_bytes(pair[2:], "little")
    return source[:index] + chr(high) + chr(low) + source[index + 1 :]


def _join_pair(source: str, index: int) -> str:
    """`source` with a high surrogate before `index` and a low one at it made one character again."""
    if 0 < index < len(source) and ord(source[index - 1]) in _HIGH and ord(source[index]) in _LOW:
        whole = source[index - 1 : index + 1].encode("utf-16-le", "surrogatepass").decode("utf-16-le")
        return source[: index - 1] + whole + source[index + 1 :]
    return source
