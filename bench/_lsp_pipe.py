"""A minimal asyncio LSP client for bench/load.py: Content-Length frames over a subprocess's pipes."""

from __future__ import annotations

import asyncio
import contextlib
import json


class LspPipe:
    """JSON-RPC over a language server's stdin/stdout: requests resolve futures, server requests
    (window/workDoneProgress/create) are accepted, and pending futures fail when the server exits."""

    def __init__(self, process: asyncio.subprocess.Process):
        self.process = process
        self._ids = iter(range(1, 10**9))
        self._pending: dict[int, asyncio.Future] = {}
        self._reader = asyncio.ensure_future(self._read())

    def send(self, message: dict) -> None:
        body = json.dumps(message).encode()
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))

    def notify(self, method: str, params: dict) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params: dict) -> tuple[int, asyncio.Future]:
        msg_id = next(self._ids)
        self._pending[msg_id] = asyncio.get_running_loop().create_future()
        self.send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        return msg_id, self._pending[msg_id]

    async def call(self, method: str, params: dict, timeout: float) -> dict:
        return await asyncio.wait_for(self.request(method, params)[1], timeout)

    async def _read(self) -> None:
        stream = self.process.stdout
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError, ValueError):
            while True:
                length = 0
                while (line := await stream.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                if not line:
                    break
                self._dispatch(json.loads(await stream.readexactly(length)))
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError("the language server closed its output"))

    def _dispatch(self, message: dict) -> None:
        if "method" in message and "id" in message:  # a server request (progress/create): accept it
            self.send({"jsonrpc": "2.0", "id": message["id"], "result": None})
        elif (future := self._pending.pop(message.get("id"), None)) is not None and not future.done():
            future.set_result(message)
