"""Hypothesis strategies for hostile editor input: awkward text, positions in and out of range, URIs."""

from __future__ import annotations

from hypothesis import strategies as st

from .reference import ReferenceDocument

# Pieces that break naive line and column code: the three LSP line breaks, characters str.splitlines
# also breaks at, astral characters (two UTF-16 units, four UTF-8 bytes), a ZWJ sequence, combining
# marks, control characters, a BOM, and lone surrogates (what a UTF-16 editor holds after a split).
PIECES = (
    "a", "b", "x", "_", "1", " ", "    ", "\t", "(", ")", "{", "}", ":", '"', "def ", "return ",
    "\n", "\r\n", "\r", "\f", "\v", "\x1c", "\x85", "\u2028",
    "é", "e\u0301", "ß", "中", "文", "😀", "𝄞", "👩\u200d💻", "\ufeff", "\ufffd",
    "\x00", "\x1b", "\x7f", "\ud83d", "\ude00",
)  # fmt: skip
MAX_UNIT = 2**31 - 1  # the largest LSP uinteger

pieces_text = st.lists(st.sampled_from(PIECES), max_size=30).map("".join)
any_text = st.text(max_size=30)  # hypothesis' own unicode mix (no surrogates)
texts = st.one_of(pieces_text, pieces_text, any_text)
binary_texts = st.binary(max_size=400).map(lambda raw: raw.decode("utf-8", "surrogateescape"))

URI_SHAPES = (
    "file:///fuzz/{}.py",
    "file:///fuzz/with%20space%20{}.py",
    "file:///fuzz/%E4%B8%AD{}.rs",
    "untitled:Untitled-{}",
    "file://host/share/{}.ts",
    "vscode-notebook-cell:/nb.ipynb#W{}",
    "{}",
)


def uri_for(index: int, shape: int) -> str:
    return URI_SHAPES[shape % len(URI_SHAPES)].format(index)


@st.composite
def positions(draw, document: ReferenceDocument) -> dict:
    """A position in the document, just past its ends, inside a surrogate pair, or far outside."""
    lengths = document.line_lengths()
    line = draw(
        st.one_of(
            st.integers(0, len(lengths) - 1),
            st.integers(0, len(lengths) - 1),
            st.integers(len(lengths), len(lengths) + 2),
            st.just(MAX_UNIT),
        )
    )
    width = lengths[line] if line < len(lengths) else 0
    character = draw(
        st.one_of(
            st.integers(0, width),
            st.integers(0, width),
            st.integers(width + 1, width + 3),
            st.just(MAX_UNIT),
        )
    )
    return {"line": line, "character": character}


@st.composite
def changes(draw, document: ReferenceDocument) -> dict:
    """One contentChanges entry for `document` as it is now: mostly ranged, sometimes the whole text."""
    text = draw(texts)
    if draw(st.integers(0, 9)) == 0:
        return {"text": text}
    start = draw(positions(document))
    end = start if draw(st.booleans()) else draw(positions(document))
    return {"range": {"start": start, "end": end}, "text": text}
