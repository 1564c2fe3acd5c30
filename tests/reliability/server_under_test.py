"""The real language server with a fake engine, plus one test-only request for the reliability tests.

    python server_under_test.py                          # in-process fake engine
    python server_under_test.py --engine ADDR [--daemon SCRIPT]
                                                         # shared daemon at ADDR, started as SCRIPT
    ... --guard LOG --secret DIR                         # record forbidden file/network access

`mercury/debugDocument {uri}` returns the server's copy of a document, so a test can compare it with a
reference model after every change. It is registered here, never in the shipped server.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "lsp")]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine")
    parser.add_argument("--daemon", default=str(HERE.parent / "lsp" / "fake_daemon.py"))
    parser.add_argument("--guard")
    parser.add_argument("--secret", action="append", default=[])
    return parser.parse_args()


def debug_document(ls, params) -> dict | None:
    """The document as the server holds it: small ones whole, every one as a UTF-16 hash."""
    from urllib.parse import unquote

    document = ls.workspace.text_documents.get(unquote(params.uri))
    if document is None:
        return None
    units = document.source.encode("utf-16-le", "surrogatepass")
    return {
        "text": document.source if len(units) <= 400_000 else None,
        "sha256": hashlib.sha256(units).hexdigest(),
        "utf16_units": len(units) // 2,
    }


def main() -> None:
    args = parse_args()
    if args.guard:
        import guard  # before anything else is imported, so that the hook sees every later open

        guard.install(args.guard, args.secret)
    from fake_server import server, setup_logging, use_fake_engine
    from mercury.lsp.stdio import serve_stdio

    setup_logging("warning", None)
    server.feature("mercury/debugDocument")(debug_document)
    use_fake_engine(args.engine, args.daemon)
    serve_stdio(server)


if __name__ == "__main__":
    main()
