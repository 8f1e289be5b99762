"""
Does the model make the next edit? On held-out files (never trained on), next-edit samples made as
training makes them (finetune_context.py next_edit_sample, only edits that something follows):
the answer written greedily, compared with the line the edit calls for (exact match), and the
answer's token accuracy teacher-forced. A minute, so a change of format or mix is seen before a
full run.

  python3 pipeline/train/probe_next_edit.py .cache/train-ctx [--cases 40]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from finetune_context import STAGE3, next_edit_sample  # noqa: E402
from tokenizer import EOS  # noqa: E402
from train import load, load_checkpoint  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("--corpus", default=".cache/corpus")
    ap.add_argument("--cases", type=int, default=40)
    ap.add_argument("--show", type=int, default=0, help="print this many cases")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model, c, tok = load_checkpoint(args.checkpoint)
    held = load(os.path.join(args.corpus, "heldout.jsonl"))
    rng = random.Random(STAGE3["seed"] + 2)
    exact = correct = total = cases = 0
    while cases < args.cases:
        f = rng.choice(held)
        text = f["text"]
        start = text.rfind("\n", 0, rng.randrange(max(1, len(text) - 1800))) + 1
        made = next_edit_sample(tok, f, text[start:start + 1800], rng, STAGE3["sequence"], text.count("\n", 0, start), follows_only=True)
        if made is None:
            continue
        cases += 1
        seq, at = made
        with torch.no_grad():
            logits, _ = model(torch.tensor([seq[:-1]]))
            guess = logits[0, at - 1:].argmax(-1)
            correct += int((guess == torch.tensor(seq[at:])).sum())
            total += len(seq) - at
            out = list(seq[:at])
            # As the server stops it: the end of text or a heading; and a few tokens past the answer's length.
            while len(out) < len(seq) + 8 and "\n### " not in tok.decode(out[at:]):
                logits, _ = model(torch.tensor([out]))
                nxt = int(logits[0, -1].argmax())
                if nxt == EOS:
                    break
                out.append(nxt)
        want, got = tok.decode(seq[at:-1]), tok.decode(out[at:]).split("\n### ")[0]
        exact += want == got
        if cases <= args.show:
            print(f"--- case {cases}\n{tok.decode(seq[1:at])}\n>>> want: {want!r}\n>>> got:  {got!r}", flush=True)
    print(json.dumps({"cases": cases, "exact": round(exact / cases, 4), "token_accuracy": round(correct / total, 4)}))


if __name__ == "__main__":
    main()
