"""Helpers for end-to-end tests: a pytest-lsp client over stdio with inline completion in its capabilities.

pytest-lsp's capability snapshots (neovim, visual_studio_code) lack `inlineCompletion`, so `capabilities`
adds it; its client does not send $/cancelRequest when a future is cancelled, so `cancel` sends it.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities, make_test_lsp_client

HERE = Path(__file__).resolve().parent
FAKE_SERVER = [sys.executable, str(HERE / "fake_server.py")]


def capabilities(client: str = "neovim", *, inline: bool = True, encodings: list[str] | None = None):
    caps = client_capabilities(client)
    caps.text_document.inline_completion = types.InlineCompletionClientCapabilities() if inline else None
    if encodings is not None:
        caps.general = types.GeneralClientCapabilities(position_encodings=encodings)
    return caps


@contextlib.asynccontextmanager
async def lsp_session(
    command: list[str],
    *,
    caps: types.ClientCapabilities | None = None,
    options: Any = None,
    env: dict[str, str] | None = None,
) -> AsyncIterator[LanguageClient]:
    """A started, initialized client; shut down and stopped on exit, even when the test failed."""
    client = make_test_lsp_client()
    await client.start_io(*command, env=env)
    try:
        client.init_result = await client.initialize_session(
            types.InitializeParams(capabilities=caps or capabilities(), initialization_options=options)
        )
        yield client
    finally:
        await _close(client)


async def _close(client: LanguageClient) -> None:
    """shutdown + exit; kill the server we started if it does not go (pygls' stop() only waits)."""
    server = client._server
    with contextlib.suppress(Exception):
        await asyncio.wait_for(client.shutdown_session(), 15)
    if server is not None and server.returncode is None:
        server.kill()
    await client.stop()


def open_doc(client: LanguageClient, uri: str, text: str, language_id: str = "python") -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id=language_id, version=1, text=text)
        )
    )


def insert(client: LanguageClient, uri: str, version: int, line: int, character: int, text: str) -> None:
    """An incremental change: insert `text` at (line, character)."""
    at = types.Position(line=line, character=character)
    replace_range(client, uri, version, types.Range(start=at, end=at), text)


def inline_params(
    uri: str, line: int, character: int, *, invoked: bool = True
) -> types.InlineCompletionParams:
    kind = (
        types.InlineCompletionTriggerKind.Invoked if invoked else types.InlineCompletionTriggerKind.Automatic
    )
    return types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=line, character=character),
        context=types.InlineCompletionContext(trigger_kind=kind),
    )


def replace_range(client: LanguageClient, uri: str, version: int, edit_range: types.Range, text: str) -> None:
    """An incremental change: `edit_range` replaced by `text` (a client applying an item)."""
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangePartial(range=edit_range, text=text)],
        )
    )


async def inline(client: LanguageClient, uri: str, line: int, character: int, *, invoked: bool = True):
    return await client.text_document_inline_completion_async(
        inline_params(uri, line, character, invoked=invoked)
    )


def start_inline(client: LanguageClient, params: types.InlineCompletionParams) -> tuple[str, asyncio.Future]:
    """Send an inline completion request with a known id (to cancel it later)."""
    msg_id = f"inline-{uuid.uuid4().hex[:8]}"
    # pygls' synchronous send writes the request now, so a cancel sent next cannot overtake it.
    future = client.protocol.send_request(types.TEXT_DOCUMENT_INLINE_COMPLETION, params, msg_id=msg_id)
    return msg_id, asyncio.wrap_future(future)


async def run_item_command(client: LanguageClient, item: types.InlineCompletionItem) -> None:
    """Run an accepted item's command, as a client does right after applying it."""
    await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=item.command.command, arguments=item.command.arguments)
    )


def cancel(client: LanguageClient, msg_id: str) -> None:
    client.cancel_request(types.CancelParams(id=msg_id))


async def stats(client: LanguageClient) -> dict:
    result = await client.protocol.send_request_async("mercury/stats", {})
    return _plain(result)


def _plain(value: Any) -> Any:
    """pygls hands custom results back as namedtuple-like objects; turn them into dicts and lists."""
    if hasattr(value, "_asdict"):
        return {key: _plain(item) for key, item in value._asdict().items()}
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


async def wait_until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 60.0) -> None:
    """Poll an async condition (no fixed sleeps); the timeout only turns a hang into a failure."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)
