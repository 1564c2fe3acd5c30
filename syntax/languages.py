"""Tree-sitter grammars for the languages Mercury constrains, loaded lazily, one parser each.

Grammars come from the individual wheels (tree-sitter-python, -javascript, ...): they work offline,
unlike tree-sitter-language-pack 1.x, which downloads grammars at run time (see PLATFORM.md).
Each grammar is imported only when a file of that language is first seen, and one `Parser` per
language is reused, as py-tree-sitter's examples/usage.py does. A parser is not thread-safe, so
`parse` holds a per-language lock while it runs.

Positions: everything in this package passes bytes to tree-sitter and gets byte offsets back;
`Point`s are (row, byte column) pairs, never character columns.
"""

from __future__ import annotations

import importlib
import os
import threading
from dataclasses import dataclass, field

from tree_sitter import Language, Parser, Tree

# Our language name -> (grammar module, function that returns the grammar pointer).
_GRAMMARS: dict[str, tuple[str, str]] = {
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "java": ("tree_sitter_java", "language"),
    "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
}

LANGUAGES: tuple[str, ...] = tuple(_GRAMMARS)

# LSP languageIds (the identifiers VS Code and Neovim send) that differ from our names.
# JavaScript's grammar parses JSX, so javascriptreact needs no grammar of its own.
_LANGUAGE_IDS: dict[str, str] = {
    "javascriptreact": "javascript",
    "jsx": "javascript",
    "typescriptreact": "tsx",
    "c++": "cpp",
    "cuda-cpp": "cpp",
    "objective-c": "c",
    "py": "python",
    "python3": "python",
    "golang": "go",
    "rs": "rust",
    "js": "javascript",
    "ts": "typescript",
}

_EXTENSIONS: dict[str, str] = {
    ".py": "python",
    ".pyi": "python",
    ".pyw": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".java": "java",
    ".go": "go",
    ".rs": "rust",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".c++": "cpp",
    ".hh": "cpp",
    ".hpp": "cpp",
    ".hxx": "cpp",
    ".h++": "cpp",
    ".ipp": "cpp",
}


def language_for(language_id: str | None, path: str | None = None) -> str | None:
    """Our language name for an LSP languageId and/or a file path; None when unknown.

    The languageId wins when it names a language we know; the file extension is the fallback
    (clients send "plaintext" or nothing for files they do not recognise).
    """
    if language_id:
        key = language_id.strip().lower()
        if key in _GRAMMARS:
            return key
        if key in _LANGUAGE_IDS:
            return _LANGUAGE_IDS[key]
    if path:
        _, ext = os.path.splitext(path)
        return _EXTENSIONS.get(ext.lower())
    return None


@dataclass
class _Entry:
    language: Language
    parser: Parser
    lock: threading.Lock = field(default_factory=threading.Lock)


_cache: dict[str, _Entry] = {}
_cache_lock = threading.Lock()


def _entry(name: str) -> _Entry:
    entry = _cache.get(name)
    if entry is not None:
        return entry
    if name not in _GRAMMARS:
        raise KeyError(f"no tree-sitter grammar for language {name!r}; known: {', '.join(LANGUAGES)}")
    with _cache_lock:
        if name not in _cache:
            module_name, function_name = _GRAMMARS[name]
            module = importlib.import_module(module_name)
            language = Language(getattr(module, function_name)())
            _cache[name] = _Entry(language, Parser(language))
        return _cache[name]


def get_language(name: str) -> Language:
    """The grammar for one of `LANGUAGES`, loaded on first use. KeyError for other names."""
    return _entry(name).language


def parse(name: str, source: bytes, old_tree: Tree | None = None) -> Tree:
    """Parse UTF-8 `source` with the language's shared parser, reusing `old_tree` if given.

    `old_tree` must already have been `edit`ed to match `source`; tree-sitter then re-lexes only
    the changed region, which is what keeps the sampler's per-step check cheap.
    """
    entry = _entry(name)
    with entry.lock:
        if old_tree is None:  # py-tree-sitter 0.26 rejects an explicit None here
            return entry.parser.parse(source)
        return entry.parser.parse(source, old_tree)
