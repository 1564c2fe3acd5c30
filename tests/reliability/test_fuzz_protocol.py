"""Malformed JSON-RPC on the server's stdin: it answers every request it can identify, ignores the
rest, and keeps serving. One server takes every example; after each one it must still answer.

Guards two bugs: a request whose params did not parse got no answer at all, so the client waited
forever (lsp/server.py `structure_message`); a lying Content-Length made the server allocate it at
once and die of MemoryError (lsp/stdio.py).
"""

from __future__ import annotations

import io
import itertools
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mercury.lsp.stdio import BoundedReader

from .conftest import fuzz
from .harness import StdioServer, frame, open_document, running_server, server_view

REAL_METHODS = (
    "textDocument/inlineCompletion",
    "textDocument/completion",
    "textDocument/didOpen",
    "textDocument/didChange",
    "textDocument/didClose",
    "workspace/executeCommand",
    "workspace/didChangeConfiguration",
    "mercury/stats",
    "$/cancelRequest",
    "$/setTrace",
)  # not initialize, shutdown or exit: those end or restart the session by design
_ids = itertools.count(1)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
methods = st.one_of(st.sampled_from(REAL_METHODS), st.text(max_size=30))


def frame_bytes(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


header_garbage = st.binary(max_size=200).filter(lambda raw: b"content-length" not in raw.lower())


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[StdioServer]:
    with running_server(tmp_path_factory.mktemp("fuzz-protocol")) as server:
        yield server


@st.composite
def requests(draw) -> dict:
    """A request with an answerable id, a real or random method, and random params."""
    message = {"jsonrpc": "2.0", "id": draw(st.sampled_from([f"fz-{next(_ids)}", next(_ids) + 10**6]))}
    message["method"] = draw(methods)
    if draw(st.booleans()):
        message["params"] = draw(json_values)
    return message


@fuzz(60)
@given(message=requests())
def test_every_request_gets_an_answer(server: StdioServer, message: dict):
    server.send(message)
    answer = server.wait_response(message["id"])
    assert ("result" in answer) != ("error" in answer)
    if message["method"] not in REAL_METHODS and not message["method"].startswith("$/"):
        assert answer["error"]["code"] == -32601  # MethodNotFound
    assert server.alive()


@pytest.mark.parametrize(
    "params",
    [
        {"key": None, "jsonrpc": None},  # found by the fuzz test above
        {"textDocument": {"jsonrpc": "2.0", "method": 1}},
        {"textDocument": {"jsonrpc": "2.0", "id": [1], "method": "x"}},
        [{"jsonrpc": "2.0", "id": 5}],
    ],
    ids=["stray-key", "nested-notification", "nested-request", "nested-response"],
)
def test_params_that_look_like_a_message_still_get_an_answer(server: StdioServer, params):
    """pygls structures the innermost objects first (json.loads' object_hook), so an object in the
    params with a "jsonrpc" key is read as a message of its own; one that failed took the whole
    request with it, and the client waited forever."""
    message = {"jsonrpc": "2.0", "id": f"nested-{next(_ids)}", "method": "textDocument/inlineCompletion"}
    server.send({**message, "params": params})
    answer = server.wait_response(message["id"], timeout=20)
    assert ("result" in answer) != ("error" in answer)
    assert server.alive()


@pytest.mark.parametrize("arguments", [[], [None], [[1]], [{"id": "m1"}], ["m1", "m2"], "m1", None])
def test_an_accept_with_bad_arguments_is_answered(server: StdioServer, arguments):
    """The accept command starts work (a prefetch); what a client sends with it must not break that."""
    message = {"jsonrpc": "2.0", "id": f"accept-{next(_ids)}", "method": "workspace/executeCommand"}
    message["params"] = {"command": "mercury.accept", "arguments": arguments}
    server.send(message)
    answer = server.wait_response(message["id"])
    assert ("result" in answer) != ("error" in answer)
    assert server.alive()


@fuzz(60)
@given(
    garbage=st.one_of(
        header_garbage.map(lambda raw: raw + b"\r\n\r\n"),  # header lines that are not headers
        st.binary(max_size=200).map(lambda body: frame_bytes(body)),  # bodies that are not JSON
        json_values.map(lambda value: frame_bytes(json.dumps(value).encode())),  # JSON, not JSON-RPC
        st.builds(
            lambda method, params, msg_id: frame(
                {"jsonrpc": "2.0", "method": method, "params": params, **msg_id}
            ),
            methods,
            json_values,
            st.one_of(
                st.just({}),
                st.fixed_dictionaries({"id": st.one_of(st.none(), st.floats(), st.lists(st.integers()))}),
            ),
        ),  # notifications, and requests with ids that cannot be answered
        st.sampled_from(
            [
                frame_bytes(b"[" * 100_000),  # nesting deep enough to overflow the parser's recursion
                frame_bytes(b'{"jsonrpc": "1.0", "id": 1, "method": "mercury/stats"}'),
                frame_bytes(b"\xff\xfe\x00"),  # not UTF-8
                b"Content-Length: 5\r\nContent-Type: nonsense\r\n\r\n[1,2]",
            ]
        ),
    )
)
def test_garbage_is_ignored_and_the_server_stays_in_step(server: StdioServer, garbage: bytes):
    server.send_raw(garbage)
    assert server.alive()


def test_documents_survive_the_garbage(server: StdioServer):
    """After the fuzzing above, the same server still keeps a document exactly."""
    open_document(server, "file:///after-garbage.py", "x = 1\r\n")
    assert server_view(server, "file:///after-garbage.py")["text"] == "x = 1\r\n"


def test_a_lying_content_length_is_skipped_not_allocated(tmp_path: Path):
    """Content-Length 10^14 then end of input: the server skips what arrives and exits cleanly.

    It used to call read(10^14) and die of MemoryError (exit code 1)."""
    with running_server(tmp_path) as server:
        server.send_raw(b"Content-Length: 100000000000000\r\n\r\n" + b"x" * 1000)
        server.process.stdin.close()
        assert server.process.wait(timeout=60) == 0
        assert "MemoryError" not in server.tail(200)


def test_bounded_reader_keeps_the_stream_in_step():
    following = json.dumps({"jsonrpc": "2.0", "method": "x"}).encode()
    stream = b"a" * 20_000 + b"\r\n" + frame_bytes(b"y" * 100) + frame_bytes(following)
    reader = BoundedReader(io.BytesIO(stream), max_body=50)
    assert reader.readline() == b"a" * 8192  # a long line arrives in bounded pieces
    while reader.readline() != b"\r\n":
        pass  # the rest of the long line, then the oversized message's header and blank line
    assert reader.read(100) == b"{}"  # skipped: pygls ignores this stand-in
    assert re.fullmatch(rb"Content-Length: \d+\r\n", reader.readline())
    assert reader.readline() == b"\r\n"
    assert reader.read(len(following)) == following
