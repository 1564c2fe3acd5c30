"""Yes/no syntax checks with tree-sitter, for the corpus filter and the evaluator.

This is deliberately tiny: `mercury.syntax` owns the sampler's constraint; the corpus and the
evaluation harness only need "does this file parse?" and "did inserting a completion add syntax
errors?". Grammars and parsers come from `mercury.syntax.languages` (one loader for the project),
but the rule here is independent of the constraint's: it counts ERROR and MISSING nodes in the
whole file (the constraint counts them only in its window, beside its own culprit rules), so the
evaluator does not grade the constraint with the constraint's own judgement.
"""

from __future__ import annotations

from functools import cache

from mercury.syntax import languages
from mercury.syntax.errors import error_node_count


@cache
def supported(language: str) -> bool:
    """True when a grammar for `language` (a mercury.syntax name) is installed."""
    try:
        languages.get_language(language)
    except (KeyError, ImportError):
        return False
    return True


def error_count(text: str, language: str) -> int:
    """Number of ERROR or MISSING nodes in the parse of `text` (-1 when no grammar exists)."""
    if not supported(language):
        return -1
    return error_node_count(languages.parse(language, text.encode("utf-8")).root_node)


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
