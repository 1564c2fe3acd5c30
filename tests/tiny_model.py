"""A tiny model that memorises a few fill-in-the-middle tasks in seconds, for tests that need real weights.

A plain module (not conftest.py): several test folders have their own conftest, so `import conftest`
would find whichever was loaded last.
"""

from __future__ import annotations

from pathlib import Path

import torch

torch.set_num_threads(1)  # tiny models gain nothing from threads, and oversubscribed cores stall

MEMORISED = """def greet(name):
    message = "hello " + name
    return message


def area(width, height):
    return width * height
"""

# (text before the cursor ends with, middle) pairs cut from MEMORISED: single-line and multi-line.
CUTS = [
    ('    message = "', 'hello " + name'),
    ("def area(width, ", "height):"),
    ("def greet(name):\n", '    message = "hello " + name\n    return message\n'),
]


def split(before: str, middle: str) -> tuple[str, str, str]:
    a = MEMORISED.index(before) + len(before)
    assert MEMORISED[a : a + len(middle)] == middle
    return MEMORISED[:a], middle, MEMORISED[a + len(middle) :]


def train_tiny(out: Path, objective: str = "diffusion", steps: int = 300) -> Path:
    """Overfit a 2-layer model on the CUTS with the real objective; save a loadable model folder."""
    from mercury.denoiser.model import Denoiser, ModelConfig
    from mercury.denoiser.objective import FimExample, build_batch, loss
    from mercury.denoiser.tokenizer import train_tokenizer

    torch.manual_seed(0)
    tok = train_tokenizer([MEMORISED] * 5, vocab_size=300)
    examples = []
    for before, middle in CUTS:
        prefix, middle, suffix = split(before, middle)
        examples.append(FimExample(tok.encode(prefix), tok.encode(suffix), tok.encode(middle)))
    cfg = ModelConfig(
        vocab_size=tok.vocab_size, d_model=64, n_layer=2, n_head=2, block_length=8, objective=objective
    )
    model = Denoiser(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(0)
    for _ in range(steps):
        batch = build_batch(examples * 3, tok, cfg.block_length, objective, gen)
        total, _ = loss(model, batch, tok.mask_id, 1.0 if objective == "ar" else 0.5, False)
        opt.zero_grad()
        total.backward()
        opt.step()
    model.save(out)
    tok.save(out / "tokenizer.json")
    return out
