"""`mercury-lsp`: pick the engine (in process, or a shared daemon) and the transport (stdio or TCP).

    mercury-lsp [--model NAME|PATH] [--route LANGUAGE=MODEL] [--no-routes] [--engine ADDRESS]
                [--tcp [HOST:]PORT] [--log-level L] [--log-file F]

stdio is the default transport; while it runs, anything printed to stdout by libraries goes to stderr
so it cannot corrupt the protocol stream. `--engine` connects to `mercury serve` (unix:PATH, a socket
path, HOST:PORT, or `default`) and starts it when nothing listens there. A model's config.json may
route languages to other models (mercury.denoiser.routing); `--route` and `--no-routes` change that.
"""

from __future__ import annotations

import argparse
import logging
import sys

from mercury.denoiser.routing import add_route_options, route_arguments, serving_routes
from mercury.denoiser.rpc import is_loopback_host, parse_address
from mercury.models import ModelNotFound

from .engines import EngineClient, InProcessEngine
from .remote import RemoteEngine, daemon_command
from .server import server
from .stdio import serve_stdio

LOG_LEVELS = ("debug", "info", "warning", "error")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mercury-lsp", description="Fill-in-the-middle completions over LSP."
    )
    parser.add_argument(
        "--model", default="coder-mini", help="registry name (see models/) or model directory"
    )
    add_route_options(parser)
    parser.add_argument("--engine", metavar="ADDRESS", help="use the shared daemon at ADDRESS (or `default`)")
    parser.add_argument("--tcp", metavar="[HOST:]PORT", help="serve LSP over TCP instead of stdio")
    parser.add_argument("--allow-remote", action="store_true", help="allow --tcp on a non-loopback host")
    parser.add_argument("--device", default="cpu", help="torch device for the in-process engine")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="compute threads of the in-process engine, torch and ONNX Runtime (default: one per core)",
    )
    parser.add_argument("--log-level", default="info", type=str.lower, choices=LOG_LEVELS)
    parser.add_argument("--log-file", help="log here instead of stderr")
    return parser


def setup_logging(level: str, log_file: str | None) -> None:
    """Log to `log_file`, or to stderr when it is absent or cannot be written (never to stdout)."""
    problem = None
    handler: logging.Handler = logging.StreamHandler(sys.stderr)
    if log_file:
        try:
            handler = logging.FileHandler(log_file, encoding="utf-8")
        except OSError as exc:
            problem = f"cannot write the log file {log_file} ({exc.strerror or exc}); logging to stderr"
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    if level != "debug":
        logging.getLogger("pygls").setLevel(logging.WARNING)  # pygls logs every message at info
    if problem:
        logging.getLogger("mercury.lsp").warning(problem)


def build_engine(args: argparse.Namespace) -> tuple[EngineClient, str]:
    """The engine client and a label for messages; raises ValueError or ModelNotFound with advice."""
    if args.engine:  # the daemon resolves the model and its routes where it runs
        address = parse_address(args.engine)
        spawn = daemon_command(args.model, address, route_options=route_arguments(args.route, args.no_routes))
        return RemoteEngine(address, spawn=spawn), f"engine daemon at {address}"
    # Resolving the models now fails here, listing the available ones, rather than after initialize.
    routes = serving_routes(args.model, args.route, config_routes=not args.no_routes)
    engine = InProcessEngine(args.model, device=args.device, threads=args.threads, routes=routes)
    return engine, f"model {args.model}"


def parse_tcp(text: str, allow_remote: bool) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"bad --tcp value {text!r}: use PORT or HOST:PORT")
    if not is_loopback_host(host) and not allow_remote:
        raise ValueError(
            f"--tcp {host} is not a loopback address: LSP has no authentication; add --allow-remote"
        )
    return host, int(port)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level, args.log_file)
    try:
        engine, label = build_engine(args)
        tcp = parse_tcp(args.tcp, args.allow_remote) if args.tcp else None
    except (ValueError, ModelNotFound) as exc:
        print(f"mercury-lsp: {exc}", file=sys.stderr)
        return 2
    server.use_engine(engine, label)
    if tcp is not None:
        server.start_tcp(*tcp)
        return 0
    serve_stdio(server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
