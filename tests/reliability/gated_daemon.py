"""`mercury serve` with the fake engine, instrumented for fault tests through $MERCURY_TEST_GATE=PATH:

PATH.starts  gets one line per daemon start, so a test can see a restart happen;
PATH.busy    appears when a slow request (tests/lsp/fakes.py SLOW_MARKER) is being denoised;
PATH         must exist before any start but the first loads its engine, so a test decides when the
             restarted daemon becomes ready and can show that answers did not wait for it.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lsp"))

from fakes import FakeEngine  # noqa: E402
from mercury.denoiser.service import serve_main  # noqa: E402

GATE = Path(os.environ["MERCURY_TEST_GATE"])


class FlaggingEngine(FakeEngine):
    """The fake engine, announcing slow requests with a file."""

    def _slow(self, cancelled):
        GATE.with_suffix(".busy").touch()
        return super()._slow(cancelled)


def load(args) -> FlaggingEngine:
    starts = GATE.with_suffix(".starts")
    earlier = len(starts.read_text().splitlines()) if starts.exists() else 0
    with starts.open("a") as record:
        record.write(f"{os.getpid()}\n")
    while earlier and not GATE.exists():
        time.sleep(0.02)  # the test opens the gate; the loop is the daemon "loading its model"
    return FlaggingEngine()


if __name__ == "__main__":
    sys.exit(serve_main(sys.argv[1:], load=load))
