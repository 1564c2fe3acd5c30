"""A tiny pygls server with fixed answers, for testing the editor plugins without a model.

It speaks the same protocol surface as `mercury-lsp` that the plugins use: textDocument/inlineCompletion
(advertised with its options, or Neovim never asks), an accept command, `mercury/stats`, and $/progress
while it "loads". The answer depends only on the text before the cursor (RULES). `stub/counts` reports
what happened (requests, cancellations, accepts, the settings received), so tests can check them
without timing anything.
"""

from __future__ import annotations

import asyncio

from lsprotocol import types
from pygls.lsp.server import LanguageServer

ACCEPT_COMMAND = "mercury.accepted"


class StubServer(LanguageServer):
    """Counts requests, cancellations and accepts."""

    def __init__(self) -> None:
        super().__init__("mercury-stub", "0.0.1")
        self.requests = 0
        self.cancelled = 0
        self.accepted = 0
        self.settings: object = None
        self.init_options: object = None


server = StubServer()


def _at(pos: types.Position, delta: int) -> types.Position:
    return types.Position(line=pos.line, character=pos.character + delta)


def _items(before: str, after: str, pos: types.Position) -> list[types.InlineCompletionItem]:
    """The fixed answers, keyed on how the text before the cursor ends."""
    here = types.Range(start=pos, end=pos)
    accept = types.Command(title="accepted", command=ACCEPT_COMMAND, arguments=["stub"])
    if before.endswith("def add"):
        return [
            types.InlineCompletionItem(insert_text="(a, b):\n    return a + b", range=here, command=accept)
        ]
    if before.endswith("pri"):
        # The range starts at the word the user is typing: the plugin must show only "nt(x)".
        return [
            types.InlineCompletionItem(insert_text="print(x)", range=types.Range(start=_at(pos, -3), end=pos))
        ]
    if before.endswith("x = (") and after.startswith(")"):
        # Replaces the auto-closed bracket after the cursor.
        return [
            types.InlineCompletionItem(insert_text="1 + 2)", range=types.Range(start=pos, end=_at(pos, 1)))
        ]
    if before == " " * 8:
        # A closer after an auto-indented Enter, as mercury-lsp sends it: the range covers the
        # indentation past the opener line's (4 of the 8 spaces).
        return [types.InlineCompletionItem(insert_text="]", range=types.Range(start=_at(pos, -4), end=pos))]
    if before == " " * 6:
        # The same from the line's start, with the new indentation in the text.
        return [
            types.InlineCompletionItem(insert_text="  }, {", range=types.Range(start=_at(pos, -6), end=pos))
        ]
    if before.endswith("pick"):
        return [types.InlineCompletionItem(insert_text=s, range=here) for s in ("_one", "_two")]
    if before.endswith("snip"):
        return [
            types.InlineCompletionItem(insert_text=types.StringValue(value="pet(${1:arg})$0"), range=here)
        ]
    return []


@server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
async def inline_completion(
    ls: StubServer, params: types.InlineCompletionParams
) -> types.InlineCompletionList:
    ls.requests += 1
    doc = ls.workspace.get_text_document(params.text_document.uri)
    line = doc.lines[params.position.line].rstrip("\r\n") if params.position.line < len(doc.lines) else ""
    before, after = line[: params.position.character], line[params.position.character :]
    if before.endswith("slow"):
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            ls.cancelled += 1
            raise
    return types.InlineCompletionList(items=_items(before, after, params.position))


@server.command(ACCEPT_COMMAND)
def accepted(ls: StubServer, *args: object) -> None:
    ls.accepted += 1


@server.feature("stub/counts")
def counts(ls: StubServer, params: object) -> dict[str, object]:
    return {
        "requests": ls.requests,
        "cancelled": ls.cancelled,
        "accepted": ls.accepted,
        "settings": ls.settings,
        "init": ls.init_options,
    }


@server.feature("mercury/stats")
def stats(ls: StubServer, params: object) -> dict[str, object]:
    return {"shown": ls.requests, "accepted": ls.accepted, "latency_ms": {"p50": 1.0, "p95": 2.0}}


@server.feature(types.INITIALIZE)
def initialize(ls: StubServer, params: types.InitializeParams) -> None:
    ls.init_options = params.initialization_options


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
def did_change_configuration(ls: StubServer, params: types.DidChangeConfigurationParams) -> None:
    ls.settings = params.settings


@server.feature(types.INITIALIZED)
async def initialized(ls: StubServer, params: types.InitializedParams) -> None:
    token = "stub-load"
    await ls.work_done_progress.create_async(token)
    ls.work_done_progress.begin(token, types.WorkDoneProgressBegin(title="loading stub", percentage=0))
    ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message="ready"))


if __name__ == "__main__":
    server.start_io()
