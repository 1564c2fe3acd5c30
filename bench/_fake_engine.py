"""`mercury serve` with a model-free engine, for `bench/load.py --fake` (a few milliseconds a request).

python bench/_fake_engine.py ADDRESS
"""

from __future__ import annotations

import sys
import time


class SleepyEngine:
    """Engine-shaped stand-in: eight 4 ms "denoising steps", each checking for cancellation."""

    def complete(self, request, cancelled):
        from mercury.denoiser.api import CompletionResult

        for _ in range(8):
            if cancelled():
                return CompletionResult(text="", stop_reason="cancelled")
            time.sleep(0.004)
        return CompletionResult(text="value_total", stop_reason="eom", steps=8, tokens=2)

    def info(self) -> dict:
        return {"name": "sleepy", "parameters": 0, "block_length": 16}

    def count_tokens(self, text: str) -> int:
        return -(-len(text) // 3)


def serve_fake(address: str) -> int:
    from mercury.denoiser.service import serve_main

    return serve_main(["--listen", address, "--log-level", "WARNING"], load=lambda _args: SleepyEngine())


if __name__ == "__main__":
    sys.exit(serve_fake(sys.argv[1]))
