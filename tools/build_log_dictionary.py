"""Write a new preset dictionary for the decision log's compressed answers (a new version: never replace one).

    python -m tools.build_log_dictionary 2 [--as-of 2026-11-27]   # writes transfer_gate/log_dictionaries/2.bin

Prints the new dictionary's SHA-256. A stored answer names the dictionary it was compressed with, and reading it back needs that
exact dictionary for ever: add the new file and its SHA-256 to log_entries.DICTIONARIES, a new
format naming it (log_entries.FORMATS), make that CURRENT_FORMAT, and keep every older one. The dictionary is the most valuable pieces (objects
and lists, by occurrences × length) of the answers to varied requests (seeded; not the
benchmark's mix) decided as of one day (today by default: the answers the service gives now),
the most valuable last, up to zlib's 32 KB window.
"""

from __future__ import annotations

import argparse
import hashlib
from collections import Counter
from datetime import date
from pathlib import Path

from bench.requestgen import random_requests
from transfer_gate.errors import TransferGateError
from transfer_gate.log_entries import DICTIONARY_DIR, answer_text
from transfer_gate.service import Runtime, _respond, validate

ROOT = Path(__file__).resolve().parent.parent
WINDOW = 32 * 1024


def _count(value, pieces: Counter) -> None:
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for child in children:
        if isinstance(child, (dict, list)):
            pieces[answer_text(child)] += 1
            _count(child, pieces)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("version", type=int)
    parser.add_argument("--as-of", default=date.today().isoformat())
    args = parser.parse_args()
    version = args.version
    target = DICTIONARY_DIR / f"{version}.bin"
    if target.exists():
        raise SystemExit(f"{target} exists: stored answers may depend on it; choose a new version")
    rt = Runtime.build(ROOT / "rulesets", ROOT / "country_profiles", log=None)
    pieces: Counter = Counter()  # every object and list inside an answer, as answer_text writes it
    for body in random_requests(600, seed=1414):
        body["as_of"] = args.as_of
        try:
            answer = _respond(rt, validate(rt, body))
        except TransferGateError:
            continue
        for key in ("decision_id", "evaluated_at"):
            answer.pop(key)
        _count(answer, pieces)
    chosen, size = [], 0
    for text, n in sorted(pieces.items(), key=lambda item: (-item[1] * len(item[0].encode("utf-8")), item[0])):
        data = text.encode("utf-8")
        if n < 2 or size + len(data) > WINDOW or any(text in c for c in chosen):
            continue
        chosen.append(text)
        size += len(data)
    blob = "".join(reversed(chosen)).encode("utf-8")  # the most valuable nearest the data: the shortest distances
    target.write_bytes(blob)
    print(f"{target}: {len(blob)} bytes, sha256 {hashlib.sha256(blob).hexdigest()}")


if __name__ == "__main__":
    main()
