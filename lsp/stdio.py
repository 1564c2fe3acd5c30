"""The stdio transport with limits, so that a broken client cannot make the server allocate at will.

pygls reads a header line with `readline()` and a body with `read(Content-Length)`. A lying
Content-Length of 10^14 made `read` ask for that much memory at once and the server died with
MemoryError (tests/reliability/test_fuzz_protocol.py). Here header lines are read in bounded pieces
and an oversized body is skipped in chunks; the stream stays in step for the next message.
"""

from __future__ import annotations

import logging
import sys
from typing import BinaryIO

from pygls.lsp.server import LanguageServer

log = logging.getLogger(__name__)

MAX_HEADER_LINE = 8192
# A 10 MB document of control characters is 60 MB of JSON escapes; past this a body is not a document.
MAX_BODY = 256 * 1024 * 1024
_CHUNK = 1024 * 1024


class BoundedReader:
    """A binary stream's readline/read, bounded per call."""

    def __init__(self, stream: BinaryIO, max_body: int = MAX_BODY):
        self._stream = stream
        self.max_body = max_body

    def readline(self) -> bytes:
        return self._stream.readline(MAX_HEADER_LINE)

    def read(self, size: int) -> bytes:
        if size <= self.max_body:
            return self._stream.read(size)
        log.error("skipping a message of %d bytes: the limit is %d", size, self.max_body)
        remaining = size
        while remaining > 0:
            chunk = self._stream.read(min(remaining, _CHUNK))
            if not chunk:
                return b""  # end of input: pygls' loop stops as it would for a short body
            remaining -= len(chunk)
        return b"{}"  # not a JSON-RPC message: pygls logs it and reads the next header


def serve_stdio(server: LanguageServer) -> None:
    """Serve over stdin/stdout; stray prints from libraries go to stderr, not into the protocol stream."""
    protocol_out = sys.stdout.buffer
    sys.stdout = sys.stderr
    server.start_io(BoundedReader(sys.stdin.buffer), protocol_out)
