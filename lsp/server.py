"""The language server: protocol wiring only. Handlers read the document and call completion.py.

Features: `textDocument/inlineCompletion` (LSP 3.18, advertised with its options so clients ask),
`textDocument/completion` for clients without inline support, `mercury.accept` (the items' command),
`mercury/stats`, settings from initializationOptions and workspace/didChangeConfiguration.
Positions use UTF-8 when the client offers it, else UTF-16 (or the client's first choice).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol, lsp_method

from mercury import __version__

from .completion import CompletionService, Suggestion
from .config import parse_config
from .context import Cursor, client_units, column_index, line_span, read_cursor
from .documents import use_lsp_documents
from .engines import EngineClient

log = logging.getLogger(__name__)
ACCEPT_COMMAND = "mercury.accept"
STATS_METHOD = "mercury/stats"


@dataclass(frozen=True)
class _Unreadable:
    """A JSON object with a "jsonrpc" key that did not structure as a message. pygls would raise, and
    the raise drops the whole message: pygls structures the innermost objects first (json.loads'
    object_hook), so params holding such an object lost their request too. Returned instead, it
    makes a message that holds it fail in turn; a request is answered with the error."""

    data: dict[str, Any]
    error: JsonRpcException

    @property
    def request_id(self) -> int | str | None:
        """The id to answer, where this is a request; None for anything nobody waits on."""
        msg_id = self.data.get("id")
        if "method" not in self.data or isinstance(msg_id, bool) or not isinstance(msg_id, int | str):
            return None
        return msg_id


class MercuryProtocol(LanguageServerProtocol):
    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams) -> Any:
        _prefer_utf8(params.capabilities)
        return (yield from super().lsp_initialize(params))

    def structure_message(self, data: dict[str, Any]) -> Any:
        """pygls raises for a message it cannot structure and so never answers it: its client would wait
        forever. It comes back as _Unreadable instead, and a request is answered with the error."""
        if "jsonrpc" in data and "method" in data and "params" not in data:
            data = {**data, "params": None}  # JSON-RPC lets params be omitted; pygls' generic types need it
        try:
            return super().structure_message(data)
        except JsonRpcException as error:
            return _Unreadable(data, error)

    def handle_message(self, message: Any) -> None:
        if isinstance(message, _Unreadable):
            if (msg_id := message.request_id) is not None:
                self._send_response(msg_id, error=message.error.to_response_error())
            else:
                log.warning("dropped a message that did not parse: %s", message.error)
            return
        super().handle_message(message)


def _prefer_utf8(capabilities: types.ClientCapabilities) -> None:
    """pygls takes the client's first supported encoding; we take UTF-8 whenever it is offered."""
    general = capabilities.general
    offered = (general.position_encodings if general is not None else None) or []
    if types.PositionEncodingKind.Utf8 in offered:
        others = [e for e in offered if e != types.PositionEncodingKind.Utf8]
        general.position_encodings = [types.PositionEncodingKind.Utf8, *others]


class MercuryServer(LanguageServer):
    """Holds the completion service and the settings; one per process (pygls serves one client)."""

    def __init__(self) -> None:
        super().__init__("mercury-lsp", __version__, protocol_cls=MercuryProtocol)
        self.completions: CompletionService | None = None
        self.engine_label = "engine"
        self._pending_messages: list[str] = []

    def use_engine(self, engine: EngineClient, label: str) -> None:
        self.completions = CompletionService(engine)
        self.engine_label = label

    @property
    def service(self) -> CompletionService:
        if self.completions is None:
            raise RuntimeError("no engine: call use_engine() before starting the server")
        return self.completions

    def apply_settings(self, data: Any, *, now: bool = True) -> None:
        config, problems = parse_config(data)
        self.service.config = config
        self._pending_messages.extend(problems)
        if now:
            self.flush_messages()

    def flush_messages(self) -> None:
        problems, self._pending_messages = self._pending_messages, []
        if problems:
            text = "Mercury settings: " + "; ".join(problems)
            self.window_show_message(types.ShowMessageParams(type=types.MessageType.Warning, message=text))

    @property
    def encoding(self) -> str:
        """The negotiated position encoding as its wire name ("utf-8", "utf-16", "utf-32")."""
        encoding = self.workspace.position_encoding or "utf-16"
        return str(getattr(encoding, "value", encoding))

    def cursor_at(self, uri: str, position: types.Position) -> Cursor | None:
        """The cursor in an open document, or None for an unknown document or a position outside it."""
        document = self.workspace.text_documents.get(unquote(uri))  # pygls keys documents unquoted
        if document is None:
            return None
        return read_cursor(
            document.source,
            position.line,
            position.character,
            self.encoding,
            uri=uri,
            language_id=document.language_id or "",
        )

    def cursor_with_selection(
        self, uri: str, position: types.Position, selected: types.SelectedCompletionInfo
    ) -> Cursor | None:
        """The cursor as if the popup's selected item were already inserted over its range.

        LSP shows an inline completion beside a selected popup item only when it extends the item's
        text over the same range, so the model must see that text. None when the range is not on
        the cursor's line ending at the cursor (no editor sends other ranges).
        """
        start, end = selected.range.start, selected.range.end
        document = self.workspace.text_documents.get(unquote(uri))
        if document is None or end != position or start.line != end.line or start.character > end.character:
            return None
        source = document.source
        span = line_span(source, end.line)
        if span is None:
            return None
        line_text = source[span[0] : span[1]]
        first = column_index(line_text, start.character, self.encoding)
        last = column_index(line_text, end.character, self.encoding)
        if first is None or last is None:
            return None
        virtual = source[: span[0] + first] + selected.text + source[span[0] + last :]
        column = start.character + client_units(selected.text, self.encoding)
        return read_cursor(
            virtual, end.line, column, self.encoding, uri=uri, language_id=document.language_id or ""
        )

    def edit_range(self, cursor: Cursor, suggestion: Suggestion) -> types.Range:
        """From the start of the partly typed word, or of the indentation the item replaces, to the
        cursor, plus replaced auto-closed characters."""
        encoding = self.encoding
        replaced = len(cursor.partial_token) + suggestion.edit.dedent
        word_start = cursor.line_prefix[: len(cursor.line_prefix) - replaced]
        end_text = cursor.line_prefix + cursor.line_suffix[: suggestion.edit.replace]
        return types.Range(
            start=types.Position(line=cursor.line, character=client_units(word_start, encoding)),
            end=types.Position(line=cursor.line, character=client_units(end_text, encoding)),
        )

    async def start_engine(self) -> None:
        """Load or connect the engine, with $/progress when the client supports it."""
        progress = bool(getattr(self.client_capabilities.window, "work_done_progress", False))
        token = f"mercury-start-{uuid.uuid4().hex[:8]}"
        if progress:
            await self.work_done_progress.create_async(token)
            self.work_done_progress.begin(
                token, types.WorkDoneProgressBegin(title="Mercury", message="starting")
            )

        def report(message: str) -> None:
            if progress:
                self.work_done_progress.report(token, types.WorkDoneProgressReport(message=message))

        try:
            info = await self.service.start(report)
            outcome = f"{info.get('name', 'model')} ready"
        except Exception as exc:  # shown to the user: the server keeps running and answers empty
            log.exception("engine start failed")
            outcome = f"could not start the {self.engine_label}: {exc}"
            message = types.ShowMessageParams(type=types.MessageType.Error, message=f"Mercury: {outcome}")
            self.window_show_message(message)
        if progress:
            self.work_done_progress.end(token, types.WorkDoneProgressEnd(message=outcome))


server = MercuryServer()


@server.feature(types.INITIALIZE)
def initialize(ls: MercuryServer, params: types.InitializeParams) -> None:
    use_lsp_documents(ls.workspace)
    ls.apply_settings(params.initialization_options, now=False)


@server.feature(types.INITIALIZED)
async def initialized(ls: MercuryServer, params: types.InitializedParams) -> None:
    ls.flush_messages()
    await ls.start_engine()


@server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
async def inline_completion(
    ls: MercuryServer, params: types.InlineCompletionParams
) -> types.InlineCompletionList | None:
    uri, selected = params.text_document.uri, params.context.selected_completion_info
    if selected is None:
        cursor = ls.cursor_at(uri, params.position)
    else:
        cursor = ls.cursor_with_selection(uri, params.position, selected)
    if cursor is None:
        return None
    automatic = params.context.trigger_kind == types.InlineCompletionTriggerKind.Automatic
    suggestion = await ls.service.complete(cursor, automatic)
    if suggestion is None:
        return types.InlineCompletionList(items=[])
    command = types.Command(title="Mercury: accepted", command=ACCEPT_COMMAND, arguments=[suggestion.item_id])
    if selected is None:
        text, edit_range = cursor.partial_token + suggestion.edit.text, ls.edit_range(cursor, suggestion)
    elif suggestion.edit.replace or suggestion.edit.dedent:
        return types.InlineCompletionList(items=[])  # it would have to reach past the item's range
    else:
        text, edit_range = selected.text + suggestion.edit.text, selected.range
    item = types.InlineCompletionItem(insert_text=text, range=edit_range, command=command)
    return types.InlineCompletionList(items=[item])


@server.feature(types.TEXT_DOCUMENT_COMPLETION)
async def completion(ls: MercuryServer, params: types.CompletionParams) -> types.CompletionList | None:
    if _client_has_inline(ls):
        return None  # the suggestion is shown as ghost text; a popup copy would be noise
    cursor = ls.cursor_at(params.text_document.uri, params.position)
    if cursor is None:
        return None
    invoked = (
        params.context is not None and params.context.trigger_kind == types.CompletionTriggerKind.Invoked
    )
    suggestion = await ls.service.complete(cursor, automatic=not invoked)
    if suggestion is None:
        return types.CompletionList(is_incomplete=True, items=[])
    return types.CompletionList(is_incomplete=True, items=[_popup_item(ls, cursor, suggestion)])


def _client_has_inline(ls: MercuryServer) -> bool:
    text_document = ls.client_capabilities.text_document
    return text_document is not None and text_document.inline_completion is not None


def _popup_item(ls: MercuryServer, cursor: Cursor, suggestion: Suggestion) -> types.CompletionItem:
    text = cursor.partial_token + suggestion.edit.text
    label = next((line.strip() for line in text.split("\n") if line.strip()), text)
    return types.CompletionItem(
        label=label,
        kind=types.CompletionItemKind.Snippet,
        detail="Mercury",
        documentation=types.MarkupContent(kind=types.MarkupKind.Markdown, value=f"```\n{text}\n```"),
        filter_text=text,
        sort_text="0",
        preselect=True,
        insert_text_format=types.InsertTextFormat.PlainText,
        text_edit=types.TextEdit(range=ls.edit_range(cursor, suggestion), new_text=text),
        command=types.Command(
            title="Mercury: accepted", command=ACCEPT_COMMAND, arguments=[suggestion.item_id]
        ),
    )


@server.command(ACCEPT_COMMAND)
def accept(ls: MercuryServer, item_id: str) -> None:
    ls.service.accepted(item_id)


@server.feature(STATS_METHOD)
def stats(ls: MercuryServer, params: Any) -> dict:
    snapshot = ls.service.stats.snapshot()
    snapshot["engine"] = {"state": ls.service.state, "kind": ls.engine_label, **ls.service.info}
    snapshot["cache_entries"] = len(ls.service.cache)
    snapshot["inflight"] = ls.service.inflight
    return snapshot


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def did_change_configuration(ls: MercuryServer, params: types.DidChangeConfigurationParams) -> None:
    settings = params.settings
    if not settings:
        workspace = ls.client_capabilities.workspace
        if workspace is None or not workspace.configuration:
            return  # nothing to read: keep the current settings
        # Pull model: the notification only says "something changed"; ask for our section.
        answer = await ls.workspace_configuration_async(
            types.ConfigurationParams(items=[types.ConfigurationItem(section="mercury")])
        )
        settings = answer[0] if answer else None
    ls.apply_settings(settings)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: MercuryServer, params: types.DidCloseTextDocumentParams) -> None:
    ls.service.forget(params.text_document.uri)


@server.feature(types.SHUTDOWN)
async def shutdown(ls: MercuryServer, params: None) -> None:
    await ls.service.close()
