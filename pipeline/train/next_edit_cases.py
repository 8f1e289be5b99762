"""
bench:nextedit's cases: held-out files (the corpus's split: no stage ever trained on them), each
with one edit made the way training makes them (next_edits.py), and every line that edit calls for
(a proposal is right at any of them).

  python3 pipeline/train/next_edit_cases.py .cache/corpus/heldout.jsonl 25 > cases.json

Same file, same count: the same cases. Only Python's standard library: no torch needed.
"""
from __future__ import annotations

import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(__file__))
from next_edits import UNRELATED, relative_path, synthesize  # noqa: E402

# A draw inside each kind's share of synthesize's (rename < 0.4 ≤ parameter < 0.55 ≤ fix < 0.8 ≤ key < 0.9).
KINDS = {"rename": 0.2, "parameter": 0.5, "fix": 0.7, "key": 0.85}
# A case's document: the file's first lines (a long file costs the bench, not the server, more).
MAX_LINES = 400
SEED = 2468


def main():
    source, per_kind = sys.argv[1], int(sys.argv[2])
    with open(source) as f:
        files = [json.loads(line) for line in f if line.strip()]
    rng = random.Random(SEED)
    rng.shuffle(files)
    cases = []
    for kind, draw in KINDS.items():
        made_of_kind = 0
        for f in files:
            if made_of_kind >= per_kind:
                break
            lines = f["text"].split("\n")[:MAX_LINES]
            made = synthesize(lines, f["language"], rng, draw=draw, unrelated=UNRELATED)
            if made["follow"] is None:
                continue
            line, change = made["edit_line"], made["change"]
            follows = [{"line": j, "text": change(lines[j])} for j in range(len(lines)) if j != line and change(lines[j]) != lines[j]]
            if not follows:
                continue
            cases.append({
                "kind": kind,
                "path": relative_path(f["path"]),
                "language": f["language"],
                "lines": lines,
                "edit": {"line": line, "before": lines[line], "after": made["edited"][line]},
                "follows": follows,
            })
            made_of_kind += 1
    json.dump(cases, sys.stdout)


if __name__ == "__main__":
    main()
