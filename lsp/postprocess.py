"""Post-processing of an engine span before it is shown, in two phases like Tabby's postprocess/.

`clean` runs once per engine result, before caching: single-line cut, indentation style, trailing
whitespace, copies of the line suffix or of the next lines, brackets the suffix already closes, the
lines after the one that closes the cursor's block, the indentation of lines that start with a
closing bracket (on the cursor's line too, where the item's range then covers the indentation the
editor typed deeper than the bracket's opener).
`fit_line_suffix` runs on every answer, cache hits included, because it depends on the current line:
when the rest of the line is only auto-closed brackets or quotes, and the span closes them itself, the
item's range covers them so they are replaced instead of doubled (Tabby's lineEndReplaceLength).

Both are pure functions of text; tests/lsp/golden/ holds one case per file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from mercury.denoiser.api import CompletionRequest

from .brackets import CLOSERS, OPENERS, ScanState, Stop, net_closers, scan, scan_lenient
from .context import Cursor, is_auto_closed

_LEADING = re.compile(r"^[ \t]*")
_WORD = re.compile(r"\w")
_CLOSERS_ONLY = re.compile(r"[)\]}]+[;,]?")
TAB_WIDTH = 4  # spaces per tab when converting a span's indentation to a tab-indented file


@dataclass(frozen=True)
class Edit:
    """What an item does: insert `text` at the cursor, replacing `replace` characters of the line
    suffix and the last `dedent` characters of the indentation before the cursor."""

    text: str
    replace: int = 0
    dedent: int = 0


def clean(raw: str, cursor: Cursor, request: CompletionRequest) -> Edit | None:
    """The span fit to show (an edit that replaces nothing after the cursor), or None when nothing
    useful is left."""
    text = raw.replace("\r\n", "\n")
    if not request.multiline:
        text = text.split("\n", 1)[0]
    text = _normalize_indent(text, cursor)
    text = _cut_line_suffix_copy(text, cursor)
    text = _cut_repeated_lines(text, cursor)
    # The prefix is scanned once, in two parts: the brackets open where the cursor's line starts
    # (what the span's closer lines are indented by) and at the cursor.
    language = cursor.language or cursor.language_id
    head = request.prefix.rfind("\n") + 1
    at_line = scan_lenient(request.prefix[:head], language)
    at_cursor = scan_lenient(request.prefix[head:], language, at_line)
    text = _balance_against_suffix(text, cursor, request, at_cursor)
    text = _cut_after_the_block_closes(text, language, at_cursor)
    text, dedent = _align_closers(text, cursor, at_line)
    text = _trim_trailing_whitespace(text, cursor, language)
    if not text.strip() or _repeats_following(text, cursor):
        return None
    return Edit(text, dedent=dedent)


def fit_line_suffix(cleaned: Edit, cursor: Cursor) -> Edit:
    """Replace the auto-closed rest of the line when the span already closes what it closed."""
    edit, text = cleaned, cleaned.text
    suffix = cursor.line_suffix
    if is_auto_closed(suffix):
        language = cursor.language or cursor.language_id
        before = scan_lenient(cursor.line_prefix, language)
        after = scan_lenient(text, language, before)
        closed_before, closed_after = _closes(suffix, before), _closes(suffix, after)
        dropped = [b and not a for b, a in zip(closed_before, closed_after, strict=True)]
        if any(dropped):
            kept = "".join(char for char, drop in zip(suffix, dropped, strict=True) if not drop)
            edit = Edit(text + kept, len(suffix), cleaned.dedent)
    if "\r\n" in cursor.before[-4096:] or "\r\n" in cursor.after[:4096]:
        edit = Edit(edit.text.replace("\n", "\r\n"), edit.replace, edit.dedent)
    return edit


def _closes(suffix: str, state: ScanState) -> list[bool]:
    """For each character of `suffix`: does it close a bracket or string open in `state`?"""
    expected = [OPENERS[bracket] for bracket in state.stack]
    if state.quote is not None and len(state.quote) == 1:
        expected.append(state.quote)  # a string is always the innermost open thing
    flags = []
    for char in suffix:
        matched = bool(expected) and char == expected[-1]
        if matched:
            expected.pop()
        flags.append(matched)
    return flags


def _normalize_indent(text: str, cursor: Cursor) -> str:
    """Re-indent lines that start a line with the document's style: tabs or spaces (Tabby#3782)."""
    lines = text.split("\n")
    first_starts_line = not cursor.line_prefix.strip()
    for index, line in enumerate(lines):
        if index == 0 and not first_starts_line:
            continue
        lead = _LEADING.match(line).group(0)
        if cursor.indent_unit == "\t" and " " in lead:
            columns = sum(TAB_WIDTH if char == "\t" else 1 for char in lead)
            new_lead = "\t" * (columns // TAB_WIDTH) + " " * (columns % TAB_WIDTH)
        elif cursor.indent_unit != "\t" and "\t" in lead:
            new_lead = lead.replace("\t", cursor.indent_unit)
        else:
            continue
        lines[index] = new_lead + line[len(lead) :]
    return "\n".join(lines)


def _trim_trailing_whitespace(text: str, cursor: Cursor, language: str) -> str:
    """Strip spaces at line ends and trailing blank lines; keep them before a non-empty line suffix.
    A span that ended its lines keeps one line break before the rest of the line where that rest is
    a line of its own (the cursor at its start, before a `}`) or where the span ends in a line
    comment, which would swallow it."""
    lines = [line.rstrip() for line in text.split("\n")[:-1]] + [text.split("\n")[-1]]
    mid_line = bool(cursor.line_suffix.strip()) and not is_auto_closed(cursor.line_suffix)
    if not mid_line or len(lines) > 1:
        lines[-1] = lines[-1].rstrip()
    broke_line = len(lines) > 1 and not lines[-1].strip()
    while len(lines) > 1 and not lines[-1].strip():
        lines.pop()
    trimmed = "\n".join(lines)
    if broke_line and cursor.line_suffix.strip():
        if not cursor.line_prefix.strip() or scan_lenient(trimmed, language).line_comment:
            return trimmed + "\n"
    return trimmed


def _cut_line_suffix_copy(text: str, cursor: Cursor) -> str:
    """Drop a copy of the rest of the line from the end of the span's first line (as llama.vscode does)."""
    suffix = cursor.line_suffix
    if not suffix.strip() or is_auto_closed(suffix):
        return text
    first, sep, rest = text.partition("\n")
    for copy in (suffix, suffix.strip()):
        if first.endswith(copy):
            return first[: -len(copy)] + sep + rest
    return text


def _following(cursor: Cursor) -> list[str]:
    return [line.strip() for line in cursor.next_lines if line.strip()]


def _cut_repeated_lines(text: str, cursor: Cursor) -> str:
    """Cut the span where its remaining lines repeat the lines after the cursor's line.

    A cut needs the whole tail to match, or two consecutive lines: one similar-looking line is not enough
    (twinny#471 emptied completions that way). Lines of closing brackets alone never decide: `}` may
    close the span's own block, so _balance_against_suffix judges those.
    """
    lines = text.split("\n")
    following = _following(cursor)
    if not following:
        return text
    for j in range(1, len(lines)):
        tail = [line.strip() for line in lines[j:] if line.strip()]
        if not tail:
            break
        matched = tail if tail == following[: len(tail)] else tail[:2] if tail[:2] == following[:2] else []
        if any(_WORD.search(line) for line in matched):
            return "\n".join(lines[:j])
    return text


def _repeats_following(text: str, cursor: Cursor) -> bool:
    """True when the span only retypes the lines that follow (llama.vim discards those). Closing
    brackets alone never decide: a `}` above a `}` may close a block whose closer is missing, and
    _balance_against_suffix has already cut one that the suffix closes."""
    if cursor.line_suffix.strip():
        return False  # mid-line spans are judged by _cut_line_suffix_copy
    first, *rest = text.split("\n")
    new_lines = ([cursor.line_prefix + first] if first.strip() else []) + rest
    shown = [line.strip() for line in new_lines if line.strip()]
    words = any(_WORD.search(line) for line in shown)
    return words and shown == _following(cursor)[: len(shown)]


def _balance_against_suffix(text: str, cursor: Cursor, request: CompletionRequest, before: ScanState) -> str:
    """Cut the span at a closer of the wrong kind, or one that closes a bracket the suffix already closes.

    The brackets the span may close are those the prefix opened (`before`, the scan at the cursor)
    and the suffix does not close (`_left_open_by`). Closers in an auto-closed rest of the line that
    pair with brackets opened on the line (`f(|)`) do not count, since fit_line_suffix replaces them;
    a line of closers the cursor sits in front of (`|}`) is code, and counts.

    Where the suffix window stops before the file's end, the rest of the file is taken to close the
    blocks (braces opened on earlier lines) that the window leaves open: a function's `}` is often
    past the window, and the span closing a block there paired the window's own closers with the
    wrong brackets (a Go struct closed early, its `}` below then closing the function). Blocks the
    window's first line of code shows to end before it (`ScanState.ended_by`: as shallow as their
    opener's line) are the exception: a block's own `}` was otherwise never shown in a file longer
    than the window (after Enter at 200 held-out Go block ends, 21 closed exactly without it and 77
    with it; Rust 30 and 80; BENCHMARKS section 6).
    """
    language = cursor.language or cursor.language_id
    closers = net_closers(request.suffix, language)[_auto_closers(cursor, language) :]
    may_close = _left_open_by(closers, before.stack)
    if request.suffix_cut:
        below = next((line for line in request.suffix.split("\n")[1:] if line.strip()), None)
        ended = before.ended_by(below) if below is not None else 0
        may_close = min(may_close, max(before.inside_the_innermost_block(), ended))
    result = scan(text, language, before, floor=before.depth - may_close)
    if isinstance(result, Stop):
        return text[: result.index]
    return text


def _left_open_by(closers: list[str], stack: list[str]) -> int:
    """How many of the open brackets (`stack`, innermost last) the suffix's `closers` leave open.

    The closers pair with the stack from its innermost bracket, past the innermost ones of another
    kind: those are being typed (`fmt.Println(x` above a function's `}`), or were opened before a
    prefix window that starts inside the function the suffix closes."""
    skipped = 0  # with all of them skipped, nothing is left to pair: the loop ends
    while not _pair(stack[: len(stack) - skipped], closers):
        skipped += 1
    return skipped + max(0, len(stack) - skipped - len(closers))


def _pair(stack: list[str], closers: list[str]) -> bool:
    """Whether `closers` close the innermost brackets of `stack` in kind, as far as both go."""
    return all(OPENERS[opener] == closer for opener, closer in zip(reversed(stack), closers, strict=False))


def _auto_closers(cursor: Cursor, language: str) -> int:
    """How many closing brackets of an auto-closed rest of the line close brackets opened on the line."""
    suffix = cursor.line_suffix
    if not is_auto_closed(suffix):
        return 0
    flags = _closes(suffix, scan_lenient(cursor.line_prefix, language))
    return sum(flag and char in CLOSERS for char, flag in zip(suffix, flags, strict=True))


def _cut_after_the_block_closes(text: str, language: str, state: ScanState) -> str:
    """End a span with a line of closing brackets alone that closes a bracket open at the cursor:
    what follows is outside the block the cursor is in (at a file's end the model closes a function,
    then writes on below it), as Tabby limits a completion to the cursor's scope. A line with more
    on it (`} else {`, a Python `):` whose body follows) does not end it. `state`: the scan of the
    prefix at the cursor."""
    if "\n" not in text:
        return text
    depth = len(state.stack)
    if not depth or state.quote or state.block_comment:
        return text
    lines = text.split("\n")
    for index, line in enumerate(lines[:-1]):
        state = scan_lenient(line + "\n", language, state)
        if len(state.stack) < depth and _CLOSERS_ONLY.fullmatch(line.strip()):
            return "\n".join(lines[: index + 1])
    return text


def _align_closers(text: str, cursor: Cursor, state: ScanState) -> tuple[str, int]:
    """Indent each line of the span that starts with a closing bracket like the line of the bracket it
    closes, as editors re-indent a typed `}`: the model's guess at a closer's depth is often a level
    off (in HumanEval-X JavaScript, 23 of 200 single-line answers were right but for the indentation
    of a lone `}`). A first line is re-indented only where the cursor sits in the line's indentation;
    where the editor indented it deeper than the opener's line (Enter after a block's last statement),
    the edit replaces the extra indentation (the second value: characters before the cursor that it
    replaces). `state`: the scan of the prefix up to the cursor's line.
    """
    lines = text.split("\n")
    if not any(line.lstrip(" \t")[:1] in CLOSERS for line in lines):
        return text, 0
    language = cursor.language or cursor.language_id
    typed, dedent = cursor.line_prefix, 0
    for index, line in enumerate(lines):
        whole = typed + line if index == 0 else line
        body = whole.lstrip(" \t")
        opener = CLOSERS.get(body[:1])
        in_code = not (state.quote or state.block_comment)
        if opener and in_code and state.stack and state.stack[-1] == opener:
            target = state.innermost_indent()
            if index > 0:
                lines[index] = target + body
            elif not typed.strip():
                kept = len(os.path.commonprefix([typed, target]))
                if kept == len(typed) or not cursor.line_suffix.strip():  # code after the cursor stays
                    lines[0], dedent = target[kept:] + body, len(typed) - kept
        head = typed[: len(typed) - dedent] if index == 0 else ""
        state = scan_lenient(head + lines[index] + "\n", language, state)
    return "\n".join(lines), dedent
