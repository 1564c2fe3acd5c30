"""The tokenizer: exact round trips, compact indentation, special tokens that text cannot forge."""

import pytest
from mercury.denoiser.tokenizer import EOM, MASK, CodeTokenizer, train_tokenizer

CORPUS = [
    "def f(x):\n    if x:\n        return x + 1\n    return 0\n",
    "class A:\n    def m(self):\n        pass\n\n\nfor i in range(10):\n    print(i)\n",
] * 20


@pytest.fixture(scope="module")
def tok() -> CodeTokenizer:
    return train_tokenizer(CORPUS, vocab_size=300)


@pytest.mark.parametrize(
    "text",
    [
        "a\r\nb\r\n",
        "\tindented\twith\ttabs",
        "emoji 🚀🎉 ok",
        "中文注释 # 日本語",
        "",
        "  \n\n   \t\r\n",
        "x\u200by",
    ],
)
def test_round_trip_is_exact(tok, text):
    assert tok.decode(tok.encode(text)) == text


def test_indentation_runs_are_single_tokens(tok):
    ids = tok.encode("    return x\n        return x")
    pieces = [tok.pieces[i] for i in ids]
    assert "\n       " in pieces or "\n        " in pieces  # newline plus indentation: one token
    assert len(ids) <= 8


def test_special_tokens_in_text_are_encoded_as_text(tok):
    ids = tok.encode(f"s = '{EOM}{MASK}'")
    assert tok.eom_id not in ids and tok.mask_id not in ids
    assert tok.decode(ids) == f"s = '{EOM}{MASK}'"


def test_special_ids_are_distinct_and_saved(tok, tmp_path):
    assert len(tok.special_ids) == 6
    tok.save(tmp_path / "tokenizer.json")
    again = CodeTokenizer.load(tmp_path / "tokenizer.json")
    assert again.encode("return x") == tok.encode("return x")
    assert again.mask_id == tok.mask_id
