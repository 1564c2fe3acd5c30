"""`mercury complete`: fill one span from the command line (prefix and suffix from files or strings)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mercury.models import ModelNotFound

from .api import CompletionRequest
from .routing import add_route_options, load_serving_engine, serving_routes


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="mercury complete", description=__doc__)
    p.add_argument("--model", default="coder-mini", help="registry name or model folder")
    p.add_argument("--file", help="a source file; the cursor is at the marker given by --cursor")
    p.add_argument("--cursor", default="<CURSOR>", help="marker in --file where the span goes")
    p.add_argument("--prefix", default="", help="text before the cursor (when no --file)")
    p.add_argument("--suffix", default="", help="text after the cursor (when no --file)")
    p.add_argument(
        "--multiline", action="store_true", help="fill several lines (default: to the end of line)"
    )
    p.add_argument("--max-tokens", type=int, default=64)
    p.add_argument("--tau", type=float, default=0.9)
    p.add_argument("--language", default=None, help="tree-sitter language for syntax constraints")
    p.add_argument("--json", action="store_true", help="print the result with its statistics as JSON")
    add_route_options(p)
    args = p.parse_args(argv)
    prefix, suffix = args.prefix, args.suffix
    if args.file:
        try:
            text = Path(args.file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            p.error(f"cannot read {args.file}: {err}")
        if args.cursor not in text:
            p.error(f"{args.file} has no cursor marker {args.cursor!r}")
        prefix, suffix = text.split(args.cursor, 1)
    try:  # the language's model, as the server would pick it; torch comes in with it
        routes = serving_routes(args.model, args.route, config_routes=not args.no_routes)
        engine = load_serving_engine(args.model, routes)
    except (ModelNotFound, ValueError) as e:
        print(f"mercury complete: {e}", file=sys.stderr)
        return 2
    request = CompletionRequest(
        prefix=prefix,
        suffix=suffix,
        language=args.language,
        multiline=args.multiline,
        max_tokens=args.max_tokens,
        tau=args.tau,
    )
    result = engine.complete(request)
    print(json.dumps(result.to_dict(), indent=2) if args.json else result.text)
    return 0
