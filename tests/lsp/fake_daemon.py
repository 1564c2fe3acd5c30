"""`mercury serve` with the fake engine: the real daemon code (locking, socket, sessions) without a model."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fakes import FakeEngine  # noqa: E402
from mercury.denoiser.service import serve_main  # noqa: E402

if __name__ == "__main__":
    sys.exit(serve_main(sys.argv[1:], load=lambda args: FakeEngine()))
