"""Request building and post-processing on hostile text: any document, any cursor, any engine answer.

Both run in the server for every request; an exception there would cost the editor its answer.
They are pure functions, so they are fuzzed in-process, many more examples than a server round trip
allows.
"""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st
from mercury.lsp.config import MULTILINE_POLICIES, Config
from mercury.lsp.context import TokenCounter, build_request, indent_padding, read_cursor
from mercury.lsp.postprocess import clean, fit_line_suffix

from .conftest import fuzz
from .strategies import PIECES

CODE = (
    "if x:", "else:", "return x;", "} else {", "});", "[", "]", "//", "/*", "*/", '"""', "#", ",", "'", "`",
)  # fmt: skip
code_text = st.lists(st.sampled_from(PIECES + CODE), max_size=60).map("".join)
LANGUAGES = ("python", "javascript", "typescript", "go", "rust", "java", "c", "cpp", "lua", "plaintext")
_BREAK = re.compile(r"\r\n|\r|\n")


@fuzz(3000)
@given(
    before=code_text,
    after=code_text,
    answer=code_text,
    language=st.sampled_from(LANGUAGES),
    policy=st.sampled_from(MULTILINE_POLICIES),
)
def test_any_answer_at_any_cursor_is_cleaned_without_error(before, after, answer, language, policy):
    lines = _BREAK.split(before)
    cursor = read_cursor(
        before + after, len(lines) - 1, len(lines[-1]), "utf-32", uri="file:///f", language_id=language
    )
    if cursor is None:  # `before` ends inside a \r\n: no position points there
        return
    request, _ = build_request(cursor, Config(multiline=policy), TokenCounter())
    shown = clean(indent_padding(cursor) + answer, cursor, request)
    assert shown is None or shown.text.strip()
    if shown:
        assert request.multiline or "\n" not in shown.text
        edit = fit_line_suffix(shown, cursor)
        assert 0 <= edit.replace <= len(cursor.line_suffix)
        assert edit.dedent == 0 or not cursor.line_prefix[len(cursor.line_prefix) - edit.dedent :].strip()
