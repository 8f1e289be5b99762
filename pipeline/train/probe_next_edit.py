"""
Does the model make the next edit? On held-out files (never trained on), next edits made as stage
four makes them (next_edits.py `next_edit_example`, only edits that something follows): the answer
written greedily and applied to the line shown, against the line the edit calls for (exact
match), and the answer's token accuracy teacher-forced. A minute, so a change of format or mix is
seen before a full run.

  python3 pipeline/train/probe_next_edit.py .cache/train-edit [--cases 40] [--show 5]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from finetune_next_edit import edit_tokens  # noqa: E402
from next_edits import SAME, apply_change, next_edit_example  # noqa: E402
from tokenizer import EOS  # noqa: E402
from train import load, load_checkpoint  # noqa: E402


def applied(prompt: str, answer: str) -> str | None:
    """The line shown in `prompt` with the change `answer` names (as the server reads it: `=` is the edit's own change,
    else `-removed` and `+added`), or None when it names none that applies."""
    line = prompt.split("\n### Line ", 1)[1].split("\n", 1)[1].rsplit("\n### Next\n", 1)[0]
    edit = prompt.split("\n### Edit ", 1)[1].split("\n### Line ", 1)[0].split("\n")[1:]
    parts = answer.split("\n")
    if parts[0].strip() == SAME:
        parts = edit
    if len(parts) < 2 or not parts[0].startswith("-") or not parts[1].startswith("+") or len(parts[0]) < 2:
        return None
    return apply_change(line, parts[0][1:], parts[1][1:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("--corpus", default=".cache/corpus")
    ap.add_argument("--cases", type=int, default=40)
    ap.add_argument("--nothing", action="store_true", help="edits with nothing to follow: how often the answer is empty")
    ap.add_argument("--show", type=int, default=0, help="print this many cases")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model, c, tok = load_checkpoint(args.checkpoint)
    model.eval()
    held = load(os.path.join(args.corpus, "heldout.jsonl"))
    rng = random.Random(1357)
    exact = correct = total = cases = 0
    while cases < args.cases:
        f = rng.choice(held)
        text = f["text"]
        start = text.rfind("\n", 0, rng.randrange(max(1, len(text) - 1800))) + 1
        made = next_edit_example(f, text[start:start + 1800], rng, text.count("\n", 0, start), nothing=args.nothing)
        if made is None:
            continue
        cases += 1
        prompt, answer = edit_tokens(tok, made)
        seq = prompt + answer
        with torch.no_grad():
            logits, _ = model(torch.tensor([seq[:-1]]))
            guess = logits[0, len(prompt) - 1:].argmax(-1)
            correct += int((guess == torch.tensor(answer)).sum())
            total += len(answer)
            out = list(prompt)
            while len(out) < len(seq) + 16:
                logits, _ = model(torch.tensor([out]))
                nxt = int(logits[0, -1].argmax())
                if nxt == EOS:
                    break
                out.append(nxt)
        # Cut where the server stops (a heading, a file separator).
        got = tok.decode(out[len(prompt):]).split("\n### ")[0].split("<file_sep>")[0]
        want = applied(made[0], made[1])
        right = got.strip() == "" if made[1] == "" else want is not None and applied(made[0], got) == want
        exact += right
        if cases <= args.show:
            print(f"--- case {cases} {'right' if right else 'wrong'}\n{made[0]}>>> want: {made[1]!r}\n>>> got:  {got!r}", flush=True)
    print(json.dumps({"cases": cases, "exact": round(exact / cases, 4), "token_accuracy": round(correct / total, 4)}))


if __name__ == "__main__":
    main()
