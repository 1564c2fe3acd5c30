"""Random editing sessions against the real server over stdio: its copy of every document must equal
the reference model (reference.py) after every change, and every request must get an answer.

One server per position encoding serves all examples (each example uses fresh URIs), so a crash or a
hang in any example fails every later one too. Guards the edit bugs pygls had under this server
(lsp/documents.py): an edit after a lone \\r, one character early at the end of the last line, after
the \\n when the column passed a line's end.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from .conftest import fuzz
from .harness import (
    StdioServer,
    change_document,
    inline_request,
    open_document,
    running_server,
    server_view,
)
from .reference import ReferenceDocument
from .strategies import binary_texts, changes, positions, texts, uri_for

NO_DEBOUNCE = {"debounce": {"mode": "fixed", "ms": 0}}
_uris = itertools.count()


@pytest.fixture(scope="module")
def servers(tmp_path_factory) -> Iterator[Callable[[str], StdioServer]]:
    """One server per position encoding, started on first use, shut down after the module."""
    tmp: Path = tmp_path_factory.mktemp("fuzz-documents")
    with contextlib.ExitStack() as stack:
        started: dict[str, StdioServer] = {}

        def start(encoding: str) -> StdioServer:
            if encoding not in started:
                server = stack.enter_context(running_server(tmp, encodings=[encoding], options=NO_DEBOUNCE))
                server.encoding = encoding
                started[encoding] = server
            return started[encoding]

        yield start


def assert_same(server: StdioServer, uri: str, reference: ReferenceDocument) -> None:
    view = server_view(server, uri)
    assert view is not None, f"the server lost {uri}"
    if view["text"] is not None:
        expected = reference.text.encode("utf-16-le", "surrogatepass")
        assert view["text"].encode("utf-16-le", "surrogatepass") == expected
    assert view["utf16_units"] * 2 == len(reference.utf16())


def assert_answered(answer: dict) -> None:
    """A well-formed request gets a result: null, or a list (possibly empty) of items."""
    assert "error" not in answer, answer
    result = answer["result"]
    assert result is None or isinstance(result.get("items"), list)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8"])
@fuzz(40)
@given(data=st.data(), initial=st.one_of(texts, binary_texts), shape=st.integers(0, 6))
def test_document_matches_reference_after_every_change(
    servers, encoding: str, data, initial: str, shape: int
):
    server = servers(encoding)
    uri = uri_for(next(_uris), shape)
    reference = ReferenceDocument(initial, server.encoding)
    open_document(server, uri, initial)
    assert_same(server, uri, reference)
    version = 1
    for _ in range(data.draw(st.integers(1, 8), label="steps")):
        action = data.draw(st.sampled_from(["change", "change", "change", "inline", "completion", "reopen"]))
        if action == "change":
            batch = []
            for _ in range(data.draw(st.integers(1, 3), label="changes")):
                batch.append(data.draw(changes(reference)))
                reference.apply(batch[-1])
            version += 1
            change_document(server, uri, version, batch)
        elif action == "reopen":
            server.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
            text = data.draw(texts, label="reopened")
            reference = ReferenceDocument(text, server.encoding)
            open_document(server, uri, text)
        else:
            at = data.draw(positions(reference))
            method = "textDocument/inlineCompletion" if action == "inline" else "textDocument/completion"
            params = inline_request(uri, at["line"], at["character"], automatic=data.draw(st.booleans()))
            if action == "completion":
                params["context"] = {"triggerKind": 1}
            assert_answered(server.request(method, params))
        assert_same(server, uri, reference)
    server.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    assert server_view(server, uri) is None


# A 10 MB document: code lines, CRLF and lone CR breaks, emoji, NUL, form feed, CJK.
BIG_CHUNK = "def f(x):  # 😀 café\r\n    return x\n\x00\f\ry = '中文'\n"
BIG_TEXT = BIG_CHUNK * (10_000_000 // len(BIG_CHUNK))


@fuzz(2)
@given(data=st.data())
def test_ten_megabyte_documents_stay_exact(servers, data):
    """Edits anywhere in a 10 MB document, compared by hash; completions at its end still answer."""
    server, uri = servers("utf-16"), f"file:///big/{next(_uris)}.py"
    reference = ReferenceDocument(BIG_TEXT)
    open_document(server, uri, BIG_TEXT)
    for version in range(2, 4):
        change = data.draw(changes(reference))
        reference.apply(change)
        change_document(server, uri, version, [change])
        view = server_view(server, uri)
        assert view["sha256"] == hashlib.sha256(reference.utf16()).hexdigest()
    last = len(reference.line_lengths()) - 1
    assert_answered(server.request("textDocument/inlineCompletion", inline_request(uri, last, 0)))
    server.notify("textDocument/didClose", {"textDocument": {"uri": uri}})


@pytest.mark.parametrize(
    ("text", "start", "end", "insert", "expected"),
    [
        ("ab\rcd", (0, 3), (0, 3), "X", "abX\rcd"),  # pygls: after the lone \r
        ("abc", (0, 9), (0, 9), "X", "abcX"),  # pygls: one character early
        ("ab\ncd", (0, 3), (0, 3), "X", "abX\ncd"),  # pygls: after the \n
        ("a😀b", (0, 2), (0, 2), "X", "a\ud83dX\ude00b"),  # inside the pair: split it
        ("a\ud83dX\ude00b", (0, 2), (0, 3), "", "a😀b"),  # and join it again
        ("ab\ncd", (1, 1), (0, 1), "X", "aXd"),  # reversed range
        ("😀", (0, 1), (0, 0), "", "\ude00"),  # reversed, from inside a pair: its first half goes
        ("x\r", (1, 0), (1, 0), "X", "x\rX"),  # after a final lone \r
        ("x\f\ny", (1, 1), (1, 1), "X", "x\f\nyX"),  # \f is not a line break in LSP
        ("x", (7, 0), (9, 9), "X", "xX"),  # lines past the end: the end of the document
    ],
)
def test_edits_that_pygls_got_wrong(servers, text: str, start: tuple, end: tuple, insert: str, expected: str):
    """Regression cases for lsp/documents.py, in UTF-16; the reference model must agree with each."""
    edit = {
        "range": {
            "start": {"line": start[0], "character": start[1]},
            "end": {"line": end[0], "character": end[1]},
        },
        "text": insert,
    }
    reference = ReferenceDocument(text)
    reference.apply(edit)
    assert reference.utf16() == expected.encode("utf-16-le", "surrogatepass")
    server, uri = servers("utf-16"), f"file:///regression/{next(_uris)}.py"
    open_document(server, uri, text)
    change_document(server, uri, 2, [edit])
    assert_same(server, uri, reference)


def test_a_surrogate_pair_sent_as_two_escapes_is_one_character(servers):
    """JSON reads `"\\ud83d\\ude00"` as one emoji, four UTF-8 bytes: a column inside it snaps to its start
    (found by the fuzz test above at 50 times its examples, when the reference counted six bytes)."""
    server, uri = servers("utf-8"), f"file:///regression/{next(_uris)}.py"
    reference = ReferenceDocument("", "utf-8")
    open_document(server, uri, "")
    edits = [
        {
            "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
            "text": " \ud83d\ude00",
        },
        {"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 3}}, "text": ""},
    ]
    for version, edit in enumerate(edits, start=2):
        reference.apply(edit)
        change_document(server, uri, version, [edit])
    assert reference.text == "😀"
    assert_same(server, uri, reference)
