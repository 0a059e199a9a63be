"""Write a new preset dictionary for the decision log's compressed answers (a new version: never replace one).

    python -m tools.build_log_dictionary 2     # writes transfer_gate/log_dictionaries/2.bin, prints its SHA-256

A stored answer names the dictionary it was compressed with, and reading it back needs that
exact dictionary for ever: add the new file and its SHA-256 to log_entries.DICTIONARIES, make it
CURRENT_DICTIONARY, and keep every older one. The dictionary is the text of distinct answers to
varied requests (seeded; not the benchmark's mix), most frequent last, up to zlib's 32 KB window.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections import Counter
from pathlib import Path

from bench.requestgen import random_requests
from transfer_gate.errors import TransferGateError
from transfer_gate.log_entries import DICTIONARY_DIR, answer_text
from transfer_gate.service import Runtime, _respond, validate

ROOT = Path(__file__).resolve().parent.parent
WINDOW = 32 * 1024


def main() -> None:
    version = int(sys.argv[1])
    target = DICTIONARY_DIR / f"{version}.bin"
    if target.exists():
        raise SystemExit(f"{target} exists: stored answers may depend on it; choose a new version")
    rt = Runtime.build(ROOT / "rulesets", ROOT / "country_profiles", log=None)
    seen: Counter = Counter()
    for body in random_requests(600, seed=1414):
        try:
            answer = _respond(rt, validate(rt, body))
        except TransferGateError:
            continue
        for key in ("decision_id", "evaluated_at"):
            answer.pop(key)
        seen[answer_text(answer)] += 1
    chosen, size = [], 0
    for text, _n in seen.most_common():
        data = text.encode("utf-8")
        if size + len(data) > WINDOW:
            continue
        chosen.append(data)
        size += len(data)
    blob = b"".join(reversed(chosen))  # the most frequent answer nearest the data: the shortest distances
    target.write_bytes(blob)
    print(f"{target}: {len(blob)} bytes, sha256 {hashlib.sha256(blob).hexdigest()}")


if __name__ == "__main__":
    main()
