"""Beyond syntax, for Python: calls that pass an impossible number of positional arguments.

When the middle closes a call `name(...)` and the same file defines `def name(params)` exactly
once, the call must fit the signature: no more positional arguments than positional parameters
(unless `*args`), and every parameter without a default supplied by position or keyword. The
check stays silent whenever it cannot be sure: `*x` or `**x` in the call, a decorated def (the
decorator may change the signature), a method (`self`/`cls` first), a name that is also assigned
or imported, or a def that appears more than once.

Offsets: `ranges` takes byte offsets into the rendered text and returns byte ranges relative to
the start of the middle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tree_sitter import Node

from .languages import parse

_DEF = re.compile(r"^([ \t]*)(?:async[ \t]+)?def[ \t]+([A-Za-z_]\w*)[ \t]*\(", re.MULTILINE)
_POSITIONAL = ("identifier", "typed_parameter", "default_parameter", "typed_default_parameter")
_SKIP_ARGS = ("list_splat", "dictionary_splat", "parenthesized_list_splat")


@dataclass(frozen=True)
class Signature:
    positional: tuple[tuple[str, bool], ...]  # (name, has a default) for each positional parameter
    var_positional: bool  # *args: any number of extra positional arguments


class CallChecker:
    """Checks the arity of calls closed by the middle against defs in one Python file."""

    def __init__(self, prefix: str, suffix: str) -> None:
        self._parts = (prefix, suffix)  # joined on first use: most middles close no call
        self._file: str | None = None
        self._signatures: dict[str, Signature | None] = {}

    def ranges(self, root: Node, text: bytes, start: int, end: int) -> list[tuple[int, int]]:
        """Byte ranges (relative to the middle) of arguments a closed call cannot take."""
        if b")" not in text[start:end]:
            return []
        found: list[tuple[int, int]] = []
        for call in _calls_closed_in(root, start, end):
            name = call.child_by_field_name("function")
            signature = self.signature(name.text.decode("utf-8", "replace")) if name else None
            if signature is not None:
                found += [(a - start, b - start) for a, b in _misfits(call, signature)]
        return found

    def signature(self, name: str) -> Signature | None:
        """The signature of the file's only `def name`, or None when unknown or ambiguous."""
        if name not in self._signatures:
            self._signatures[name] = self._find_signature(name)
        return self._signatures[name]

    def _find_signature(self, name: str) -> Signature | None:
        if self._file is None:
            self._file = "".join(self._parts)
        source = self._file
        defs = [m for m in _DEF.finditer(source) if m.group(2) == name]
        if len(defs) != 1 or _rebound(source, name) or _decorated(source, defs[0].start()):
            return None
        params = _balanced(source, defs[0].end() - 1)
        return _parse_signature(params) if params is not None else None


def _rebound(source: str, name: str) -> bool:
    """True when `name` is also assigned, imported or made a class: then the def may not apply."""
    word = re.escape(name)
    patterns = (
        rf"^[ \t]*{word}[ \t]*(?::[^=\n]*)?=(?!=)",
        rf"^[ \t]*(?:from[ \t]+\S+[ \t]+)?import[^\n]*\b{word}\b",
        rf"^[ \t]*class[ \t]+{word}\b",
    )
    return any(re.search(p, source, re.MULTILINE) for p in patterns)


def _decorated(source: str, def_start: int) -> bool:
    line_end = def_start - 1
    while line_end > 0:
        line_start = source.rfind("\n", 0, line_end) + 1
        line = source[line_start:line_end].strip()
        if line and not line.startswith("#"):
            return line.startswith("@")
        line_end = line_start - 1
    return False


def _balanced(source: str, open_at: int, limit: int = 4000) -> str | None:
    """The text from the `(` at `open_at` through its matching `)`, skipping quoted text."""
    depth, quote, i = 0, "", open_at
    stop = min(len(source), open_at + limit)
    while i < stop:
        ch = source[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth == 0:
                return source[open_at : i + 1]
        i += 1
    return None


def _parse_signature(params: str) -> Signature | None:
    """Read a parameter list such as `(a, b=1, *args)` by parsing `def _(...): pass`."""
    tree = parse("python", f"def _{params}: pass\n".encode("utf-8", "surrogatepass"))
    node = tree.root_node.child(0)
    parameters = node.child_by_field_name("parameters") if node is not None else None
    if parameters is None or tree.root_node.has_error:
        return None
    positional: list[tuple[str, bool]] = []
    var_positional, keyword_only = False, False
    for child in parameters.named_children:
        if child.type == "keyword_separator":
            keyword_only = True
        elif child.type == "list_splat_pattern" or _is_splat(child, "list_splat_pattern"):
            var_positional = keyword_only = True
        elif child.type in _POSITIONAL and not keyword_only and not _is_splat(child, None):
            positional.append((_parameter_name(child), "default" in child.type))
    if positional and positional[0][0] in ("self", "cls"):
        return None  # a method: calls through an instance pass it implicitly
    return Signature(tuple(positional), var_positional)


def _is_splat(parameter: Node, kind: str | None) -> bool:
    """True for typed `*args: T` / `**kw: T` (kind None: either splat)."""
    if parameter.type != "typed_parameter":
        return False
    first = parameter.named_child(0)
    kinds = (kind,) if kind else ("list_splat_pattern", "dictionary_splat_pattern")
    return first is not None and first.type in kinds


def _parameter_name(parameter: Node) -> str:
    if parameter.type == "identifier":
        return parameter.text.decode("utf-8", "replace")
    name = parameter.child_by_field_name("name") or parameter.named_child(0)
    return name.text.decode("utf-8", "replace") if name is not None else ""


def _calls_closed_in(root: Node, start: int, end: int) -> list[Node]:
    """Calls of a plain name whose closing parenthesis is one of bytes [start, end)."""
    found: list[Node] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "call":
            arguments = node.child_by_field_name("arguments")
            function = node.child_by_field_name("function")
            closer = arguments.child(arguments.child_count - 1) if arguments is not None else None
            if (
                function is not None
                and function.type == "identifier"
                and closer is not None
                and closer.type == ")"
                and not closer.is_missing
                and start <= closer.start_byte < end
                and not arguments.has_error
            ):
                found.append(node)
        stack.extend(c for c in node.named_children if c.start_byte < end and c.end_byte > start)
    return found


def _misfits(call: Node, signature: Signature) -> list[tuple[int, int]]:
    """Byte ranges of the call that break the signature: extra arguments, or its `)`."""
    arguments = call.child_by_field_name("arguments")
    if arguments.type == "generator_expression":
        args: list[Node] = [arguments]
    else:
        args = [a for a in arguments.named_children if not a.is_extra]
    if any(a.type in _SKIP_ARGS for a in args):
        return []
    positional = [a for a in args if a.type != "keyword_argument"]
    keywords = {_keyword_name(a) for a in args if a.type == "keyword_argument"}
    allowed = len(signature.positional)
    if not signature.var_positional and len(positional) > allowed:
        return [(positional[allowed].start_byte, positional[-1].end_byte)]
    supplied = {name for name, _ in signature.positional[: len(positional)]} | keywords
    if any(not default and name not in supplied for name, default in signature.positional):
        closer = arguments.child(arguments.child_count - 1)
        return [(closer.start_byte, closer.end_byte)]
    return []


def _keyword_name(argument: Node) -> str:
    name = argument.child_by_field_name("name")
    return name.text.decode("utf-8", "replace") if name is not None else ""
