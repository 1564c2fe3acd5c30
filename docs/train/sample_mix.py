"""The Go and Rust files of the 90 minutes of Go and Rust training measured and not shipped
(models/coder-mini/MODEL_CARD.md, Training; BENCHMARKS.md section 1).

    python docs/train/sample_mix.py /work/data/corpus-multi/train /work/data/mix-gr/gr-sample.jsonl

A fixed share of each language's training files of `mercury corpus --languages python go rust
--debian` (its held-out split already removed), chosen by a hash of source and path so that the
sample does not depend on file order: 13% of Go's files and 10% of Rust's (3.9 MB each), beside
coder-mini's 12.5 MB of Python.
"""

import hashlib
import json
import sys
from pathlib import Path

SHARE_PERCENT = {"go": 13, "rust": 10}


def chosen(record: dict) -> bool:
    key = f"{record['source']}:{record['path']}".encode()
    return int(hashlib.sha256(key).hexdigest(), 16) % 100 < SHARE_PERCENT.get(record["language"], 0)


def main(train_dir: str, out: str) -> None:
    with open(out, "w", encoding="utf-8") as f:
        for shard in sorted(Path(train_dir).glob("*.jsonl")):
            with shard.open(encoding="utf-8") as lines:
                f.writelines(line for line in lines if chosen(json.loads(line)))


if __name__ == "__main__":
    main(*sys.argv[1:3])
