"""End-to-end over stdio with the shipped model: `mercury-lsp --model coder-mini`, as an editor runs it.

What a suggestion says depends on the model; these tests check what the server must do with it: the
range, cancellation (-32800), the typed-through cache, the popup fallback, bad positions, and two
servers sharing one engine daemon. `find_suggestion` tries a few everyday prompts and uses the first
one the model completes, so a retrained model does not break the tests by changing its answers.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

import pytest
from lsprotocol import types
from mercury.denoiser.rpc import Address, Connection, open_stream
from mercury.denoiser.service import lock_path
from mercury.models import available_models
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from .client import (
    cancel,
    capabilities,
    inline,
    inline_params,
    insert,
    lsp_session,
    open_doc,
    run_item_command,
    start_inline,
    stats,
    wait_until,
)

MODEL = "coder-mini"


def server(model: str) -> list[str]:
    return [str(Path(sys.executable).parent / "mercury-lsp"), "--model", model, "--log-level", "warning"]


SERVER = server(MODEL)
PROMPTS = [  # each completed at its end
    "def add(a, b):\n    return ",
    'if __name__ == "__main__":\n    ',
    "import os\nimport sys\n\n\ndef main():\n    ",
    "for i in range(10):\n    print(",
    "class Point:\n    def __init__(self, x, y):\n        self.x = x\n        ",
    "numbers = [1, 2, 3]\ntotal = 0\nfor n in numbers:\n    total",
]

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.slow,
    pytest.mark.skipif(MODEL not in available_models(), reason=f"models/{MODEL} is not built yet"),
]


async def find_suggestion(
    client: LanguageClient, usable=lambda here, item: True
) -> tuple[str, types.Position, types.InlineCompletionItem]:
    """The first prompt the model completes (with an item `usable` accepts): its uri, the cursor, the item."""
    for index, text in enumerate(PROMPTS):
        uri = f"file:///work/prompt{index}.py"
        open_doc(client, uri, text)
        lines = text.split("\n")
        here = types.Position(line=len(lines) - 1, character=len(lines[-1]))
        result = await inline(client, uri, here.line, here.character)
        if result.items and usable(here, result.items[0]):
            return uri, here, result.items[0]
    pytest.fail(f"the model completed none of {len(PROMPTS)} everyday prompts in a usable way")


def _rest_to_type(here: types.Position, item: types.InlineCompletionItem) -> str:
    """The part of the suggestion after what is already typed at the cursor."""
    return item.insert_text[here.character - item.range.start.character :]


def _typeable(here: types.Position, item: types.InlineCompletionItem) -> bool:
    rest = _rest_to_type(here, item)
    return len(rest) >= 2 and item.range.end == here and "\n" not in rest[:1]


@pytest.mark.parametrize("model", [MODEL, "coder-small"])
async def test_inline_completion_at_the_cursor(model):
    async with lsp_session(server(model)) as client:
        assert client.init_result.capabilities.inline_completion_provider is not None
        _, here, item = await find_suggestion(client)
        assert item.insert_text.strip()
        assert item.range.start.line == item.range.end.line == here.line
        assert item.range.start.character <= here.character == item.range.end.character
        report = await stats(client)
        assert report["engine"]["state"] == "ready" and report["engine"]["name"] == model
        counts = report["counts"]
        assert counts["forward_passes"] >= counts["engine_calls"] > 0  # each call encodes, then denoises


ROUTED = "coder-mini-multi"


@pytest.mark.skipif(ROUTED not in available_models(), reason=f"models/{ROUTED} is not built yet")
async def test_a_go_file_is_completed_by_the_model_its_language_is_routed_to():
    go = "package main\n\nfunc add(a int, b int) int {\n\treturn "
    async with lsp_session(SERVER) as client:
        await find_suggestion(client)  # a Python file first: the main model answers it
        open_doc(client, "file:///work/add.go", go + "\n}\n", language_id="go")
        await inline(client, "file:///work/add.go", 3, len("\treturn "))
        report = await stats(client)
        assert report["engine"]["routes"]["go"] == ROUTED
        calls = {row["model"]: row["calls"] for row in report["engine_calls_by_model"]}
        assert calls[ROUTED] == 1 and calls[MODEL] >= 1


MISSING_CLOSER = [  # a function at a file's end that lacks its `}`; the cursor on the empty line below
    "const keepLong = (words, n) => {\n  return words.filter(w => w.length > n);\n",
    "function countVowels(text) {\n  let count = 0;\n  for (const c of text) {\n"
    "    if ('aeiou'.includes(c)) count++;\n  }\n  return count;\n",
    "function isEven(n) {\n  return n % 2 === 0;\n",
]


@pytest.mark.skipif(ROUTED not in available_models(), reason=f"models/{ROUTED} is not built yet")
async def test_where_a_function_lacks_its_closing_brace_the_server_shows_the_brace():
    """The constraint asks for text on the empty line, the span ends after a line of closers, and
    the brace is shown at its function's indentation, with nothing written below it."""
    async with lsp_session(SERVER) as client:
        shown = []
        for index, text in enumerate(MISSING_CLOSER):
            uri = f"file:///work/missing{index}.js"
            open_doc(client, uri, text, language_id="javascript")
            result = await inline(client, uri, text.count("\n"), 0)
            shown.append(result.items[0].insert_text if result.items else "")
        assert shown.count("}") >= 2, shown
        assert not any("}\n" in text for text in shown), shown  # nothing below the closed function


BETWEEN_STATEMENTS = [  # the cursor on the empty line, the block's code goes on below it
    "def area(width, height):\n    width = abs(width)\n\n    return width * height\n",
    "import os\n\nimport sys\n",
    "def read_config(path):\n    config = {}\n\n    return config\n",
    "def load(path):\n    with open(path) as f:\n        text = f.read()\n\n"
    "        return text.splitlines()\n",
    "class Stack:\n    def __init__(self):\n        self.items = []\n\n        self.size = 0\n",
]


async def test_an_empty_line_between_statements_is_shown_one_line():
    """A statement is inserted there: a block would retell the code below (the first and third
    were shown several lines of junk while the server asked for a block there)."""
    async with lsp_session(SERVER) as client:
        shown = []
        for index, text in enumerate(BETWEEN_STATEMENTS):
            uri = f"file:///work/between{index}.py"
            open_doc(client, uri, text)
            result = await inline(client, uri, text.split("\n").index(""), 0)
            shown.extend(item.insert_text for item in result.items)
        assert not any("\n" in text for text in shown), shown


async def test_a_list_the_code_below_leaves_open_is_shown_its_closer():
    """The model finds no text the file accepts on the blank line; the grammar's closer is shown."""
    text = "NAMES = [\n    'alpha',\n    'beta',\n\n\n\ndef main():\n    print(NAMES)\n"
    async with lsp_session(SERVER) as client:
        open_doc(client, "file:///work/names.py", text)
        result = await inline(client, "file:///work/names.py", 3, 0)
        assert [item.insert_text for item in result.items] == ["]"]


async def test_a_closer_replaces_the_indentation_an_editor_typed_past_its_opener():
    """After Enter on the list's last item an editor indents the new line like the item; the closer
    is shown with a range that takes that indentation back to the list's line."""
    text = "NAMES = [\n    'alpha',\n    'beta',\n    \n\n\ndef main():\n    print(NAMES)\n"
    async with lsp_session(SERVER) as client:
        open_doc(client, "file:///work/names.py", text)
        (item,) = (await inline(client, "file:///work/names.py", 3, 4)).items
        assert item.insert_text == "]"
        start, end = types.Position(line=3, character=0), types.Position(line=3, character=4)
        assert item.range == types.Range(start=start, end=end)


@pytest.mark.skipif(ROUTED not in available_models(), reason=f"models/{ROUTED} is not built yet")
async def test_enter_after_a_return_at_a_blocks_end_is_shown_the_blocks_closer():
    """Nothing after `return err` in its block runs, and the code below ends the block: the line
    Enter opens (indented like the `return`) is shown the `}` at the `if`'s indentation."""
    text = "package main\n\nfunc check(err error) error {\n\tif err != nil {\n\t\treturn err\n\t\t\n"
    text += "\treturn nil\n}\n"
    async with lsp_session(SERVER) as client:
        open_doc(client, "file:///work/check.go", text, language_id="go")
        (item,) = (await inline(client, "file:///work/check.go", 5, 2)).items
        assert item.insert_text == "}"
        start, end = types.Position(line=5, character=1), types.Position(line=5, character=2)
        assert item.range == types.Range(start=start, end=end)


async def test_cancellation_is_answered_with_request_cancelled():
    async with lsp_session(SERVER) as client:
        open_doc(client, "file:///work/long.py", "def long_function(a, b, c):\n\n")
        await inline(client, "file:///work/long.py", 0, 4)  # the model is loaded and warm
        msg_id, pending = start_inline(client, inline_params("file:///work/long.py", 1, 0))
        cancel(client, msg_id)
        with pytest.raises(JsonRpcException) as caught:
            await pending
        assert caught.value.code == -32800
        await wait_until(lambda: _count(client, "cancelled", 1), "the cancellation to be counted")
        assert isinstance((await inline(client, "file:///work/long.py", 1, 0)).items, list | tuple)


async def test_typing_through_a_suggestion_is_answered_from_the_cache():
    async with lsp_session(SERVER) as client:
        uri, here, item = await find_suggestion(client, _typeable)
        rest = _rest_to_type(here, item)
        calls = (await stats(client))["counts"]["engine_calls"]
        insert(client, uri, 2, here.line, here.character, rest[0])
        result = await inline(client, uri, here.line, here.character + 1)
        (again,) = result.items
        assert again.insert_text.endswith(rest[1:])
        counts = (await stats(client))["counts"]
        assert counts["engine_calls"] == calls and counts["typed_through"] == 1


async def test_enter_after_an_accept_is_answered_from_the_prefetch():
    def at_cursor(here, item):
        return item.range.start == here == item.range.end and item.insert_text.isascii()

    async with lsp_session(SERVER) as client:
        uri, here, item = await find_suggestion(client, at_cursor)
        insert(client, uri, 2, here.line, here.character, item.insert_text)
        await run_item_command(client, item)
        lines = item.insert_text.split("\n")
        end = (here.character if len(lines) == 1 else 0) + len(lines[-1])
        insert(client, uri, 3, here.line + len(lines) - 1, end, "\n")  # Enter
        calls = (await stats(client))["counts"]["engine_calls"]
        await inline(client, uri, here.line + len(lines), 0)
        counts = (await stats(client))["counts"]
        assert counts["prefetch_hits"] == counts["prefetches"] == 1
        assert counts["engine_calls"] == calls  # the model was not asked again


async def test_completion_fallback_for_clients_without_inline_support():
    async with lsp_session(SERVER, caps=capabilities(inline=False)) as client:
        for index, text in enumerate(PROMPTS):
            uri = f"file:///work/popup{index}.py"
            open_doc(client, uri, text)
            lines = text.split("\n")
            here = types.Position(line=len(lines) - 1, character=len(lines[-1]))
            result = await client.text_document_completion_async(
                types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=here)
            )
            if result.items:
                (item,) = result.items
                assert item.text_edit.range.end == here and item.text_edit.new_text.strip()
                return
        pytest.fail(f"{MODEL} completed none of the prompts through textDocument/completion")


async def test_bad_positions_are_answered_without_a_crash():
    async with lsp_session(SERVER) as client:
        open_doc(client, "file:///work/x.py", "x = 1\n")
        assert await inline(client, "file:///work/x.py", 40, 0) is None
        assert await inline(client, "file:///work/x.py", 0, 80) is None
        assert await inline(client, "file:///work/unknown.py", 0, 0) is None
        assert (await stats(client))["engine"]["state"] in ("loading", "ready")


async def test_two_servers_share_one_engine_daemon():
    folder = tempfile.mkdtemp(prefix="mercury-e2e-", dir="/tmp")
    address = Address(path=os.path.join(folder, "engine.sock"))
    command = [*SERVER, "--engine", str(address)]
    try:
        async with lsp_session(command) as first, lsp_session(command) as second:
            for client in (first, second):
                open_doc(client, "file:///work/shared.py", PROMPTS[0])
                result = await inline(client, "file:///work/shared.py", 1, 11)
                assert isinstance(result.items, list | tuple)
                assert (await stats(client))["engine"]["name"] == MODEL
            daemon = await _daemon_stats(address)
            assert daemon["clients"] >= 3 and daemon["served"] >= 2  # two servers and this probe
    finally:
        if lock_path(address).exists():
            os.kill(int(lock_path(address).read_text().split()[0]), signal.SIGTERM)  # spawned for this test
        shutil.rmtree(folder, ignore_errors=True)


async def _daemon_stats(address: Address) -> dict:
    connection = Connection(*await open_stream(address))
    reader = asyncio.ensure_future(connection.run())
    try:
        await connection.request("hello", {"client": "test"})
        return await connection.request("stats")
    finally:
        await connection.close()
        await reader


async def _count(client: LanguageClient, name: str, n: int) -> bool:
    return (await stats(client))["counts"].get(name, 0) == n
