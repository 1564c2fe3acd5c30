"""Yes/no syntax checks with tree-sitter, for the corpus filter and the evaluator.

This is deliberately tiny: `mercury.syntax` owns the sampler's constraint; the corpus and the
evaluation harness only need "does this file parse?" and "did inserting a completion add syntax
errors?". One `Parser` per language is built lazily and reused (py-tree-sitter examples/usage.py).
"""

from __future__ import annotations

import importlib
from functools import cache

from tree_sitter import Language, Parser

# language name -> (grammar module, function returning the grammar pointer)
_GRAMMARS = {
    "python": ("tree_sitter_python", "language"),
    "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "java": ("tree_sitter_java", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
}


@cache
def _parser(language: str) -> Parser | None:
    spec = _GRAMMARS.get(language)
    if spec is None:
        return None
    try:
        module = importlib.import_module(spec[0])
    except ImportError:
        return None
    return Parser(Language(getattr(module, spec[1])()))


def supported(language: str) -> bool:
    """True when a grammar for `language` is installed."""
    return _parser(language) is not None


def error_count(text: str, language: str) -> int:
    """Number of ERROR or MISSING nodes in the parse of `text` (-1 when no grammar exists)."""
    parser = _parser(language)
    if parser is None:
        return -1
    root = parser.parse(text.encode("utf-8")).root_node
    if not root.has_error:
        return 0
    count, stack = 0, [root]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            count += 1
        elif node.has_error:  # only descend where an error lives below
            stack.extend(node.children)
    return count


def parses_cleanly(text: str, language: str) -> bool:
    """True when `text` parses without errors (True for languages without a grammar)."""
    return error_count(text, language) <= 0


def valid_in_context(
    prefix: str, middle: str, suffix: str, language: str, reference: str | None = None
) -> bool:
    """True when prefix + middle + suffix parses, or has no more errors than with `reference` inserted.

    Comparing against the original file matters: real files (and eval snippets cut from them)
    sometimes carry errors of their own that a completion should not be blamed for.
    """
    filled = error_count(prefix + middle + suffix, language)
    if filled <= 0:
        return True
    if reference is None:
        return False
    return filled <= error_count(prefix + reference + suffix, language)
