"""
Cases that hold next_edits.py's `token_change` / `apply_change` and server/nextEdit/tokenChange.ts
to the same answers (test/unit/nextEdit.test.ts reads them): edits synthesized from held-out code
the way training makes them, and random strings of the characters where Python and JavaScript
differ (whitespace, `$`, non-ASCII letters).

  python3 pipeline/train/token_change_cases.py .cache/corpus/heldout.jsonl > test/unit/fixtures/tokenChange.json
  npx prettier --write test/unit/fixtures/tokenChange.json

Only Python's standard library. Same file: the same cases.
"""
from __future__ import annotations

import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(__file__))
from next_edits import UNRELATED, apply_change, synthesize, token_change  # noqa: E402

ODD = ["a", "b", "_", "$", " ", "\t", "=", "(", ")", ",", ".", "\x1c", "\x85", "\ufeff", "\xa0", "é", "1", "\u2003"]


def main():
    files = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    rng = random.Random(97)
    cases = []
    for f in files:
        lines = f["text"].split("\n")[:200]
        made = synthesize(lines, f["language"], rng, unrelated=UNRELATED)
        if made["follow"] is not None:
            before, after = lines[made["edit_line"]], made["edited"][made["edit_line"]]
            cases.append((before, after, lines[made["follow"]]))
    while len(cases) < 300:
        cases.append(tuple("".join(rng.choice(ODD) for _ in range(rng.randint(0, 10))) for _ in range(3)))
    out = []
    for before, after, line in cases:
        change = token_change(before, after)
        out.append({"before": before, "after": after, "line": line, "change": list(change) if change else None,
                    "applied": apply_change(line, *change) if change else None})
    json.dump(out, sys.stdout, ensure_ascii=True, indent=0)


if __name__ == "__main__":
    main()
