"""End-to-end over stdio against the real server code with the fake engine (tests/lsp/fake_server.py).

These check the protocol behaviour that does not depend on model quality: capabilities, ranges,
encodings, cancellation, superseding, the typed-through cache, the popup fallback, bad positions,
settings and statistics. test_e2e_model.py repeats the key ones with the shipped model.
"""

from __future__ import annotations

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import ClientServerConfig, LanguageClient

from .client import (
    FAKE_SERVER,
    cancel,
    capabilities,
    inline,
    inline_params,
    insert,
    lsp_session,
    open_doc,
    replace_range,
    run_item_command,
    start_inline,
    stats,
    wait_until,
)

pytestmark = pytest.mark.asyncio
URI = "file:///work/example.py"


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=FAKE_SERVER), params=["neovim", "visual_studio_code"]
)
async def client(lsp_client: LanguageClient, request):
    lsp_client.init_result = await lsp_client.initialize_session(
        types.InitializeParams(capabilities=capabilities(request.param))
    )
    yield
    await lsp_client.shutdown_session()


async def test_capabilities_advertise_inline_completion(client: LanguageClient):
    caps = client.init_result.capabilities
    assert caps.inline_completion_provider == types.InlineCompletionOptions()
    assert caps.completion_provider is not None
    assert "mercury.accept" in caps.execute_command_provider.commands
    sync = caps.text_document_sync
    assert sync.change == types.TextDocumentSyncKind.Incremental
    # Neovim offers utf-8 and gets it; the VS Code snapshot offers nothing and gets the default utf-16.
    offered = client.capabilities.general and client.capabilities.general.position_encodings
    assert caps.position_encoding == ("utf-8" if offered and "utf-8" in offered else "utf-16")


async def test_inline_completion_at_the_cursor(client: LanguageClient):
    open_doc(client, URI, "def add(a, b):\n    return \n")
    result = await inline(client, URI, 1, 11)
    (item,) = result.items
    assert item.insert_text == "a + b"
    here = types.Position(line=1, character=11)
    assert item.range == types.Range(start=here, end=here)
    assert item.command.command == "mercury.accept"


async def test_a_selected_popup_item_is_extended_over_its_range(client: LanguageClient):
    open_doc(client, URI, "total = pri\n")
    item_range = types.Range(
        start=types.Position(line=0, character=8), end=types.Position(line=0, character=11)
    )
    params = inline_params(URI, 0, 11)
    params.context.selected_completion_info = types.SelectedCompletionInfo(range=item_range, text="price")
    (item,) = (await client.text_document_inline_completion_async(params)).items
    assert item.insert_text == "price * quantity"  # the model saw "total = price"
    assert item.range == item_range
    elsewhere = types.Range(
        start=types.Position(line=0, character=0), end=types.Position(line=0, character=5)
    )
    params.context.selected_completion_info = types.SelectedCompletionInfo(range=elsewhere, text="count")
    assert await client.text_document_inline_completion_async(params) is None


async def test_range_covers_partial_word_and_auto_closed_bracket(client: LanguageClient):
    open_doc(client, URI, "total = pri\nprint()\n")
    (item,) = (await inline(client, URI, 0, 11)).items
    assert item.insert_text == "price * quantity"  # the typed "pri" is replaced, not doubled
    assert item.range == types.Range(
        start=types.Position(line=0, character=8), end=types.Position(line=0, character=11)
    )
    (item,) = (await inline(client, URI, 1, 6)).items
    assert item.insert_text == '"hello")'  # the span closes the call itself, so the range swallows ")"
    assert item.range == types.Range(
        start=types.Position(line=1, character=6), end=types.Position(line=1, character=7)
    )


@pytest.mark.parametrize(("encoding", "column"), [("utf-16", 17), ("utf-8", 20)])
async def test_positions_in_the_negotiated_encoding(encoding: str, column: int):
    # 'x = "😋"; café = ' is 15 code points, 17 UTF-16 units, 20 UTF-8 bytes.
    async with lsp_session(FAKE_SERVER, caps=capabilities(encodings=[encoding])) as client:
        assert client.init_result.capabilities.position_encoding == encoding
        open_doc(client, URI, 'x = "😋"; café = \n')
        (item,) = (await inline(client, URI, 0, column)).items
        assert item.insert_text == '"crème"'
        assert item.range.start == item.range.end == types.Position(line=0, character=column)


async def test_cancel_request_is_answered_and_stops_the_engine(client: LanguageClient):
    open_doc(client, URI, "slow = \ny = 1\ntotal = \n")
    msg_id, pending = start_inline(client, inline_params(URI, 0, 7))
    await wait_until(lambda: _inflight(client, 1), "the slow request to reach the engine")
    cancel(client, msg_id)
    with pytest.raises(JsonRpcException) as caught:
        await pending
    assert caught.value.code == -32800  # RequestCancelled
    # One engine worker: this answer proves the cancelled denoising loop let go of it.
    (item,) = (await inline(client, URI, 2, 8)).items
    assert item.insert_text == "price * quantity"
    assert (await stats(client))["counts"]["cancelled"] == 1


async def test_newer_request_supersedes_older_one(client: LanguageClient):
    open_doc(client, URI, "total = \nslow = \n")
    _, older = start_inline(client, inline_params(URI, 1, 7))
    await wait_until(lambda: _inflight(client, 1), "the slow request to reach the engine")
    newer = await inline(client, URI, 0, 8)
    assert [item.insert_text for item in newer.items] == ["price * quantity"]
    assert list((await older).items) == []
    assert (await stats(client))["counts"]["superseded"] == 1


async def test_typing_through_a_suggestion_needs_no_engine_call(client: LanguageClient):
    open_doc(client, URI, "greeting = \n")
    (first,) = (await inline(client, URI, 0, 11, invoked=False)).items
    assert first.insert_text == '"hello, world"'
    calls = (await stats(client))["counts"]["engine_calls"]
    insert(client, URI, 2, 0, 11, '"he')
    (second,) = (await inline(client, URI, 0, 14, invoked=False)).items
    assert second.insert_text == 'hello, world"'  # the typed word "he" plus the rest
    assert second.range.start == types.Position(line=0, character=12)
    counts = (await stats(client))["counts"]
    assert counts["engine_calls"] == calls
    assert counts["typed_through"] == 1


async def test_bad_positions_get_empty_answers(client: LanguageClient):
    open_doc(client, URI, "def add(a, b):\n    return \n")
    assert (await inline(client, URI, 99, 0)) is None
    assert (await inline(client, URI, 0, 500)) is None
    assert (await inline(client, "file:///never/opened.py", 0, 0)) is None
    (item,) = (await inline(client, URI, 1, 11)).items  # still alive
    assert item.insert_text == "a + b"


async def test_accept_command_and_stats(client: LanguageClient):
    open_doc(client, URI, "def add(a, b):\n    return \n")
    (item,) = (await inline(client, URI, 1, 11)).items
    await run_item_command(client, item)
    report = await stats(client)
    assert report["counts"]["accepted"] == 1
    assert report["counts"]["accepted_chars"] == len("a + b")
    assert report["acceptance_rate"] == 1.0
    assert report["engine"]["state"] == "ready"
    assert sum(report["latency_histogram"].values()) == report["latency_ms"]["n"] >= 1
    # The engine was started with $/progress: begin ... end.
    kinds = [type(value).__name__ for values in client.progress_reports.values() for value in values]
    assert kinds[0] == "WorkDoneProgressBegin" and kinds[-1] == "WorkDoneProgressEnd"


async def test_enter_after_an_accept_is_answered_from_the_prefetch(client: LanguageClient):
    open_doc(client, URI, "def add(a, b):\n    return \n")
    (item,) = (await inline(client, URI, 1, 11)).items
    insert(client, URI, 2, 1, 11, item.insert_text)  # the client applies the item, then runs its command
    await run_item_command(client, item)
    insert(client, URI, 3, 1, 16, "\n")  # Enter
    (below,) = (await inline(client, URI, 2, 0)).items
    assert below.insert_text == "print(add(1, 2))"
    counts = (await stats(client))["counts"]
    assert counts["engine_calls"] == counts["prefetches"] == counts["prefetch_hits"] == 1


async def test_a_closer_replaces_the_indentation_typed_past_its_opener_then_enter_is_prefetched(
    client: LanguageClient,
):
    open_doc(client, URI, "NAMES = [\n    'ada',\n    \n")
    (item,) = (await inline(client, URI, 2, 4)).items
    start, end = types.Position(line=2, character=0), types.Position(line=2, character=4)
    assert (item.insert_text, item.range) == ("]", types.Range(start=start, end=end))
    replace_range(client, URI, 2, item.range, item.insert_text)
    await run_item_command(client, item)
    insert(client, URI, 3, 2, 1, "\n")  # Enter
    (below,) = (await inline(client, URI, 3, 0)).items
    assert below.insert_text == "print(NAMES)"
    counts = (await stats(client))["counts"]
    assert counts["engine_calls"] == counts["prefetches"] == counts["prefetch_hits"] == 1


async def test_completion_fallback_without_inline_support():
    async with lsp_session(FAKE_SERVER, caps=capabilities(inline=False)) as client:
        open_doc(client, URI, "def add(a, b):\n    return \n")
        result = await client.text_document_completion_async(
            types.CompletionParams(
                text_document=types.TextDocumentIdentifier(uri=URI),
                position=types.Position(line=1, character=11),
                context=types.CompletionContext(trigger_kind=types.CompletionTriggerKind.Invoked),
            )
        )
        (item,) = result.items
        here = types.Position(line=1, character=11)
        assert item.text_edit == types.TextEdit(range=types.Range(start=here, end=here), new_text="a + b")
        assert item.command.command == "mercury.accept"


async def test_settings_errors_are_shown_and_settings_apply():
    options = {"tau": 5, "multiline": "sometimes", "debounce": {"ms": 50}}
    async with lsp_session(FAKE_SERVER, options=options) as client:
        await client.wait_for_notification(types.WINDOW_SHOW_MESSAGE)
        (message,) = client.messages
        assert message.type == types.MessageType.Warning
        assert "`tau`" in message.message and "`multiline`" in message.message
        open_doc(client, URI, "def add(a, b):\n    return \n")
        assert len((await inline(client, URI, 1, 11)).items) == 1  # defaults stood in for the bad values
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"mercury": {"languages": ["rust"]}})
        )
        await wait_until(lambda: _empty_at(client, URI, 1, 11), "the languages setting to apply")


async def _inflight(client: LanguageClient, n: int) -> bool:
    return (await stats(client))["inflight"] == n


async def _empty_at(client: LanguageClient, uri: str, line: int, character: int) -> bool:
    return list((await inline(client, uri, line, character)).items) == []


async def test_edits_after_a_form_feed_and_escaped_uris(client: LanguageClient):
    """pygls alone splits lines at \\f too, so this edit used to land one line too high."""
    uri = "file:///work/my%20file.py"
    open_doc(client, uri, "x = 1\n\x0c\ntotal\n")
    insert(client, uri, 2, 2, 5, " = ")
    (item,) = (await inline(client, uri, 2, 8)).items
    assert item.insert_text == "price * quantity"
