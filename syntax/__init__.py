"""Syntax constraints for the sampler: tree-sitter behind a small yes/no and "where is it wrong" API.

The sampler calls `constraint_for(request)` once per completion and then, every denoising step,
`invalid_ranges(draft, complete)`; at the end, `accepts(text)`. No tree-sitter type crosses this
boundary (STYLE.md, "syntax/").
"""

from .constraint import SyntaxConstraint, constraint_for
from .languages import LANGUAGES, get_language, language_for
from .window import WindowConfig

__all__ = ["LANGUAGES", "SyntaxConstraint", "WindowConfig", "constraint_for", "get_language", "language_for"]
