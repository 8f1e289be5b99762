"""
Does the model use the repository context it is shown? On held-out files (never trained on), the
cross-file completions stage three trains on (finetune_context.py repo_sample: the line cut at a use
of a name another file of the package defines), each scored twice with the same cut: with the
defining chunk in the context, and with only other chunks. Prints the middle's loss (nats/token,
teacher-forced) and its token accuracy both ways (the gap is what the context is worth to the
model), and the loss on random tokens the first time and repeated (whether it copies at all).

  python3 pipeline/train/probe_context.py .cache/train-ctx [--cases 300] [--references | --renamed]

Also the same over the middle's first two tokens, the name's start, which is what the definition
tells. `--references` takes only uses that refer to another file's definition, as CrossCodeEval
(and bench:context) cut them; `--renamed` those with the name replaced everywhere in the sample by
another package's declared name, so that only copying it from the context predicts it.

Measured on the stage-four model (the embedded one), 200 cases, the name's loss with the
definition / without (nats/token) and its accuracy:
- stage three's cases: 4.244 / 4.296, 35% / 34%;
- references: 3.641 / 3.671, 39.3% / 39.0%;
- renamed: 7.848 / 7.904, 6.3% / 6.0%.
Two stage-five runs tried on it (session 17, not committed; 400 steps from the stage-four file,
about 20 minutes each, seed 5151, lr 3e-4, stage four's packed next edits 15%, editor FIM, chat
10%, text; the loss 30% what each sample asks for, which for a repository sample was the name
and the token after it):
- 35% references (the definition's chunk four times in five): held-out loss 2.742 → 2.734;
  references 3.128 / 3.176 (42.5% / 42.5%): the names got likelier with or without the
  definition, which the model still does not use; bench:context EM 0 either way.
- 20% references and 20% renamed: held-out loss 2.757; renamed 6.198 / 6.441 (13.5% / 13.5%):
  the renamed names learnt from the file itself more than from the definition.
A 6.7 M-parameter model with 4 layers barely copies (random tokens repeated: 10.0 → 7.2 nats); the
names it gets right it gets from the code around the cursor.
Two runs that taught copying itself (session 20, not committed; 200 steps from the stage-four
checkpoint, about 10 minutes each: random tokens repeated, code whose pieces come back after other
code, the loss on the repeats only, and renamed repository samples, the rest stage four's mix):
- 10% random, 15% code, 10% renamed, lr 3e-4: random tokens repeated 10.2 → 6.0 nats, renamed
  name 8.5% / 8.3% with / without the definition; held-out loss 2.742 → 2.782;
- 15% random, 20% code, 15% renamed, lr 1e-3: 10.6 → 4.7 nats, renamed name 10.5% / 10.8%;
  held-out loss 2.742 → 2.915.
Copying grew, using the definition did not: the name at a use does not follow the same tokens as
at its declaration (`other.` against `class X {`), so a head that copies what followed an earlier
occurrence of the current token finds nothing to copy; that needs a model that can look names up.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from finetune_context import STAGE3, Packages, repo_sample  # noqa: E402
from train import load, load_checkpoint  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("--corpus", default=".cache/corpus")
    ap.add_argument("--cases", type=int, default=300)
    ap.add_argument("--references", action="store_true",
                    help="only uses that refer to the definition (finetune_context.py references: as CrossCodeEval and bench:context cut them)")
    ap.add_argument("--renamed", action="store_true",
                    help="references with the name replaced everywhere by one another package declares: only copying from the context predicts it")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model, c, tok = load_checkpoint(args.checkpoint)
    train_files = load(os.path.join(args.corpus, "train.jsonl"))
    held_files = load(os.path.join(args.corpus, "heldout.jsonl"))
    files = train_files + held_files
    packages = Packages(files)
    held = list(range(len(train_files), len(files)))
    totals = {True: [0.0, 0, 0], False: [0.0, 0, 0]}  # loss sum, correct tokens, tokens
    heads = {True: [0.0, 0, 0], False: [0.0, 0, 0]}  # the same over the middle's first two tokens: the name's start
    cases, attempt = 0, 0
    picker = random.Random(STAGE3["seed"] + 1)
    while cases < args.cases and attempt < args.cases * 50:
        attempt += 1
        index = picker.choice(held)
        pair = {}
        for with_target in (True, False):
            made = repo_sample(tok, packages, files[index], index, random.Random(attempt), STAGE3["sequence"], with_target,
                               references_only=args.references, rename=args.renamed)
            if made is None:
                break
            pair[with_target] = made
        if len(pair) != 2:
            continue
        cases += 1
        with torch.no_grad():
            for with_target, (seq, start) in pair.items():
                x = torch.tensor([seq[:-1]])
                logits, _ = model(x)
                targets = torch.tensor(seq[start:])
                scored = logits[0, start - 1:]
                t = totals[with_target]
                t[0] += F.cross_entropy(scored, targets, reduction="sum").item()
                t[1] += int((scored.argmax(-1) == targets).sum())
                t[2] += len(targets)
                h = heads[with_target]
                h[0] += F.cross_entropy(scored[:2], targets[:2], reduction="sum").item()
                h[1] += int((scored[:2].argmax(-1) == targets[:2]).sum())
                h[2] += len(targets[:2])
    # Copying itself: random tokens, then the same again; only a model that copies from its context predicts the repeat.
    first = again = 0.0
    with torch.no_grad():
        for _ in range(16):
            seq = [picker.randrange(256, c.vocab) for _ in range(40)]
            x = torch.tensor([seq + seq])
            logits, _ = model(x[:, :-1])
            loss = F.cross_entropy(logits[0], x[0, 1:], reduction="none")
            first += loss[:39].mean().item() / 16
            again += loss[40:].mean().item() / 16
    result = {("with_definition" if k else "without"): {"middle_loss": round(v[0] / v[2], 4), "token_accuracy": round(v[1] / v[2], 4),
                                                          "name_loss": round(heads[k][0] / heads[k][2], 4),
                                                          "name_accuracy": round(heads[k][1] / heads[k][2], 4)}
              for k, v in totals.items()}
    result["cases"] = cases
    result["random_tokens"] = {"first": round(first, 2), "repeated": round(again, 2)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
