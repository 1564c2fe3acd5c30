"""Where a tree-sitter parse went wrong, as small comparable records ("culprits").

An ERROR node's range is a poor answer to "which text is wrong": error recovery wraps well-formed
subtrees in it too (`foo(1, 2))` becomes ERROR(call `foo(1, 2)`, `)`), and one unfinished line
can swallow the next statement. The culprits of an ERROR are the tokens tree-sitter could not fit
anywhere, i.e. its leaf children; the subtrees it reduced are fine. Each MISSING node is a
zero-width culprit, and so is an empty Python `block`: tree-sitter accepts `def f(x):` with no
body (DESIGN.md, "Syntax constraints"), the interpreter does not.

Offsets are byte offsets into the parsed text. Walks only descend into nodes that touch the byte
range asked for and that contain an error, so they cost little more than the tree's depth.
"""

from __future__ import annotations

from dataclasses import dataclass

from tree_sitter import Node

EMPTY_BLOCK = "empty block"
_STRING_PREFIX_LETTERS = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"  # f"", rb'', u""


@dataclass(frozen=True, slots=True)
class Culprit:
    start: int  # byte offset
    end: int  # byte offset; equal to start for MISSING tokens, empty blocks, bare ERRORs
    kind: str  # token type, "MISSING <type>", "ERROR" or EMPTY_BLOCK


def _touches(node: Node, lo: int, hi: int) -> bool:
    return node.start_byte <= hi and node.end_byte >= lo


def error_culprits(root: Node, source: bytes, lo: int, hi: int, draft_end: int | None) -> list[Culprit]:
    """Culprits of the syntax errors in nodes that touch bytes [lo, hi] (inclusive).

    `draft_end` is set when the text is an unfinished draft that ends (trailing whitespace and
    comments aside) at that byte: errors that only say "not finished yet" are then left out, namely an
    ERROR that runs to the end, a string opened and never closed, and MISSING tokens at the end.
    Errors nested inside such an ERROR are still reported.
    """
    found: list[Culprit] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_missing:
            # tree-sitter-rust closes an unterminated draft string with a MISSING quote right
            # after the opening one, not at the end: unfinished too, while no quote follows.
            quote = _is_quote(node.type) and source.find(node.type.encode(), node.start_byte) < 0
            if draft_end is None or not quote:
                found.append(Culprit(node.start_byte, node.start_byte, "MISSING " + node.type))
        elif node.is_error:
            unfinished = draft_end is not None and _is_unfinished(node, source, draft_end)
            found.extend(_error_leaves(node, stack, lo, hi, unfinished))
        else:
            stack.extend(c for c in node.children if c.has_error and _touches(c, lo, hi))
    if draft_end is not None:
        found = [c for c in found if c.start < draft_end]
    return found


def error_node_count(root: Node) -> int:
    """Number of ERROR and MISSING nodes under `root` (descends only where an error lives)."""
    return error_extent(root)[0]


def error_extent(root: Node) -> tuple[int, int]:
    """(ERROR and MISSING nodes, bytes inside outermost ERROR nodes) under `root`: how much of a
    text tree-sitter's recovery could not place."""
    count, size, stack = 0, 0, [root]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            count += 1
            size += node.end_byte - node.start_byte
        elif node.has_error:
            stack.extend(node.children)
    return count, size


def _error_leaves(error: Node, stack: list[Node], lo: int, hi: int, unfinished: bool) -> list[Culprit]:
    """The ERROR's own unplaced tokens; pushes its children that hold errors onto `stack`."""
    leaves: list[Culprit] = []
    reduced_only = True
    for child in error.children:
        if child.is_error or child.is_missing or child.has_error:
            reduced_only = False
            if _touches(child, lo, hi):
                stack.append(child)
        elif child.child_count == 0 and not child.is_extra:
            reduced_only = False
            leaves.append(Culprit(child.start_byte, child.end_byte, child.type))
    if unfinished:
        return []
    if reduced_only:
        # Nothing but well-formed subtrees (it can wrap the whole file): the parse went wrong
        # where it starts. A culprit of its full range would overlap every middle inside it.
        return [Culprit(error.start_byte, error.start_byte, "ERROR")]
    return leaves


def _is_unfinished(error: Node, source: bytes, draft_end: int) -> bool:
    """True when a draft's ERROR may only mean the text stops early (see `error_culprits`)."""
    # Running to the end, or stopping one partial token short of it (`#include <stdio.h`
    # leaves `h` outside the ERROR): the next tokens may complete the construct.
    gap = source[error.end_byte : draft_end]
    words = gap.split()
    if not words or words == [gap]:
        return True
    # A quote whose closing quote appears nowhere later: more tokens may still close it. This
    # covers `x = "abc`, where tree-sitter-python makes an ERROR of the quote alone.
    return any(_never_closed(leaf, source) for leaf in error.children)


def _never_closed(leaf: Node, source: bytes) -> bool:
    """True for a string-opening token whose closing quote does not occur after it."""
    if leaf.child_count or not _is_quote(leaf.type):
        return False
    closer = source[leaf.start_byte : leaf.end_byte].lstrip(_STRING_PREFIX_LETTERS)
    return bool(closer) and source.find(closer, leaf.end_byte) < 0


def last_code_end(root: Node) -> int:
    """End byte of the last token that is not a comment (trailing whitespace and comments aside).

    An unfinished draft ends here: a comment being typed at its end says nothing about the code.
    """
    node = root
    while node.child_count:
        children = [c for c in node.children if not c.is_extra]
        if not children:
            return node.start_byte
        node = children[-1]
    return node.end_byte


def ends_in_open_string(root: Node, source: bytes) -> bool:
    """True when some string in `source` is opened and never closed (the text ends inside it)."""
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_error and any(_never_closed(leaf, source) for leaf in node.children):
            return True
        stack.extend(c for c in node.children if c.has_error)
    return False


def _is_quote(node_type: str) -> bool:
    return node_type.endswith(("string_start", '"', "'", "`"))


def empty_blocks(root: Node, lo: int, hi: int) -> list[Culprit]:
    """Zero-width Python `block` nodes touching bytes [lo, hi]: a block header with no body.

    Only statements can hold a block, so the walk never enters expressions. A query cursor's
    byte range skips zero-width nodes in tree-sitter 0.26, and `Node.first_child_for_byte`
    crashes on them, so this walks plain child lists.
    """
    found: list[Culprit] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "block" and node.start_byte == node.end_byte:
            found.append(Culprit(node.start_byte, node.start_byte, EMPTY_BLOCK))
        elif node.child_count and (node.type in _HOLDS_BLOCKS or node is root):
            for child in node.children:
                if child.start_byte > hi:
                    break  # children come in text order
                if child.is_named and child.end_byte >= lo:
                    stack.append(child)
    return found


# tree-sitter-python node types that can contain a `block` (directly or in a clause).
_HOLDS_BLOCKS = frozenset(
    {
        "module",
        "block",
        "ERROR",
        "function_definition",
        "class_definition",
        "decorated_definition",
        "if_statement",
        "elif_clause",
        "else_clause",
        "for_statement",
        "while_statement",
        "try_statement",
        "except_clause",
        "except_group_clause",
        "finally_clause",
        "with_statement",
        "match_statement",
        "case_clause",
    }
)
