"""`mercury-lsp` with the fake engine, for end-to-end protocol tests that need no model.

python fake_server.py                      # in-process fake engine
python fake_server.py --engine ADDRESS     # the shared daemon at ADDRESS, started as fake_daemon.py
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from fakes import FakeEngine  # noqa: E402
from mercury.denoiser.rpc import parse_address  # noqa: E402
from mercury.lsp.cli import setup_logging  # noqa: E402
from mercury.lsp.engines import InProcessEngine  # noqa: E402
from mercury.lsp.remote import RemoteEngine  # noqa: E402
from mercury.lsp.server import server  # noqa: E402
from mercury.lsp.stdio import serve_stdio  # noqa: E402


def use_fake_engine(engine: str | None, daemon_script: str) -> None:
    """The fake engine in process, or the shared daemon at `engine`, started as `daemon_script`."""
    if engine:
        address = parse_address(engine)
        spawn = [sys.executable, daemon_script, "--listen", str(address), "--idle-timeout", "60"]
        server.use_engine(RemoteEngine(address, spawn=spawn), f"fake daemon at {address}")
    else:
        server.use_engine(InProcessEngine("fake", loader=FakeEngine), "fake engine")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine")
    args = parser.parse_args()
    setup_logging("warning", None)
    use_fake_engine(args.engine, str(HERE / "fake_daemon.py"))
    serve_stdio(server)


if __name__ == "__main__":
    main()
