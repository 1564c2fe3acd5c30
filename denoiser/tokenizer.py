"""Byte-level BPE tokenizer for code, with the special tokens of the fill-in-the-middle layout.

Byte-level means every string round-trips exactly (CRLF, tabs, emoji, CJK). The GPT-2 style
pre-tokenizer keeps a run of whitespace together ("\\n        " is one pre-token), so BPE learns
indentation as single tokens: indentation is most of code's bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

PAD, MASK, SUF, PRE, MID, EOM = "<|pad|>", "<|mask|>", "<|suf|>", "<|pre|>", "<|mid|>", "<|eom|>"
SPECIAL_TOKENS = (PAD, MASK, SUF, PRE, MID, EOM)


class CodeTokenizer:
    """A thin wrapper that knows the special token ids and never adds anything implicitly."""

    def __init__(self, tokenizer: Tokenizer):
        self._tok = tokenizer
        # A file that contains "<|eom|>" as text must not inject a control token: encode it as text.
        self._tok.encode_special_tokens = True
        ids = [tokenizer.token_to_id(t) for t in SPECIAL_TOKENS]
        if any(i is None for i in ids):
            raise ValueError(f"tokenizer lacks special tokens {SPECIAL_TOKENS}")
        self.pad_id, self.mask_id, self.suf_id, self.pre_id, self.mid_id, self.eom_id = ids
        self.vocab_size = tokenizer.get_vocab_size()
        # Decoded text of every id, for mapping proposals to character spans and finding newlines.
        self.pieces = [self.decode([i]) for i in range(self.vocab_size)]

    @classmethod
    def load(cls, path: str | Path) -> CodeTokenizer:
        return cls(Tokenizer.from_file(str(path)))

    def save(self, path: str | Path) -> None:
        self._tok.save(str(path))

    def encode(self, text: str) -> list[int]:
        return self._tok.encode(text, add_special_tokens=False).ids

    def decode(self, ids: Iterable[int]) -> str:
        return self._tok.decode(list(ids), skip_special_tokens=False)

    @property
    def special_ids(self) -> frozenset[int]:
        return frozenset((self.pad_id, self.mask_id, self.suf_id, self.pre_id, self.mid_id, self.eom_id))


def train_tokenizer(texts: Iterable[str], vocab_size: int = 8192) -> CodeTokenizer:
    """Train byte-level BPE on `texts`; special tokens get the first ids."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        min_frequency=2,
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return CodeTokenizer(tok)
