"""
Fourth training stage: next edits in the project's format (issue 21), on the stage-three model.

  python3 pipeline/train/finetune_next_edit.py --base .cache/train-ctx --corpus .cache/corpus --out .cache/train-edit

Stage three asked the model to write a region of five lines again with the next edit made in it:
it never learnt to (0 of 20 held-out regions), and a one-line region did little better (1 of 30
after 320 steps): a 6.7 M-parameter model copies a line badly and loses its place after the
changed word. So the format asks for less: the server works out the change the user made, in
whole tokens (`total` → `grandTotal`, `==` → `===`, `b` → `b, options`), and shows one candidate
line (server/nextEdit/candidates.ts finds them); the model answers `=` when that line takes the
same change (a rename's use, the same fix), writes the change of its own that it takes (a call
that needs the new parameter, a literal the new key), or nothing (next_edits.py):

    <file_sep>path
    ### Edit 12
    -total
    +grandTotal
    ### Line 40
        return total / count;
    ### Next
    =<|endoftext|>

Even a rename's `-total` / `+grandTotal` written out was too much: 52% of held-out edits right
after 400 steps, and `subcategories` for `subtotal` (a name of several tokens, copied from the
prompt, goes astray after its first token). A third of the renames are to a name unrelated to the
old one (`subtotal` → `net`), as users rename.

A sample of next edits packs as many as fit in a sequence (each is about 60 tokens; padded one to a
sequence, nine tenths of the compute would be padding); the loss counts each answer. A fifth of
them have nothing to follow. The rest of the mix is stage three's, so completion and chat are kept.
Files it never saw stay held out (the corpus's split). Same seed, same steps: the same model.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from finetune_context import make_sampler  # noqa: E402
from finetune_loop import stage_setup, train_stage  # noqa: E402
from next_edits import next_edit_example  # noqa: E402
from tokenizer import EOS, FILE_SEP, Tokenizer  # noqa: E402
from train import load  # noqa: E402

STAGE4 = {
    "seed": 9753,
    "sequence": 512,
    "batch": 8,
    "steps": 400,
    "lr": 3e-4,
    "min_lr_ratio": 0.05,
    "warmup_steps": 10,
    "weight_decay": 0.1,
    "balance_coef": 0.01,
    "target_weight": 0.25,
    # Shares of the samples (a next-edit sample is a sequence of them); the rest is plain text.
    "next_edit": 0.3,
    "nothing_follows": 0.2,
    "repo_fim": 0.1,
    "chat": 0.1,
    "editor_fim": 0.35,
    "copy": 0.0,
    "eval_every_steps": 50,
    "eval_tokens": 16384,
}


def edit_tokens(tok: Tokenizer, made: tuple[str, str]) -> tuple[list[int], list[int]]:
    """A next edit's prompt as the server sends it (the file separator, then the text) and its answer with the end."""
    prompt, answer = made
    return [FILE_SEP] + tok.encode(prompt), tok.encode(answer) + [EOS]


def main():
    args, rng, started = stage_setup(STAGE4, ".cache/train-ctx", ".cache/train-edit", "print this many next-edit samples and stop")

    tok = Tokenizer.load(os.path.join(args.base, "tokenizer.json"))
    train_files = load(os.path.join(args.corpus, "train.jsonl"))
    held_files = load(os.path.join(args.corpus, "heldout.jsonl"))
    L = STAGE4["sequence"]
    sample = make_sampler(tok, train_files, rng, STAGE4)

    def one_edit() -> tuple[list[int], list[int]]:
        nothing = rng.random() < STAGE4["nothing_follows"]
        while True:
            _, f, window, first_line = sample.window()
            made = next_edit_example(f, window, rng, first_line, nothing)
            if made is not None:
                return edit_tokens(tok, made)

    def packed_edits() -> tuple[list[int], list[tuple[int, int]]]:
        seq: list[int] = []
        spans: list[tuple[int, int]] = []
        while True:
            prompt, answer = one_edit()
            if len(seq) + len(prompt) + len(answer) > L + 1:
                if spans:
                    return seq, spans
                continue  # an edit longer than a sequence (a line of thousands of characters): another one
            spans.append((len(seq) + len(prompt), len(seq) + len(prompt) + len(answer)))
            seq += prompt + answer

    if args.show:
        for _ in range(args.show):
            prompt, answer = one_edit()
            print(f"=====\n{tok.decode(prompt)}----- answer\n{tok.decode(answer)}\n")
        return

    def padded():
        r = rng.random()
        if r < STAGE4["next_edit"]:
            seq, spans = packed_edits()
            return (seq + [EOS] * (L + 1))[: L + 1], spans, len(seq)
        at = STAGE4["next_edit"]
        kind = "text"
        for name, share in [("repo", "repo_fim"), ("chat", "chat"), ("fim", "editor_fim"), ("copy", "copy")]:
            at += STAGE4[share]
            if r < at:
                kind = name
                break
        made = None
        while made is None:
            made = sample(kind)
        seq, start = made
        return (seq + [EOS] * (L + 1))[: L + 1], start, min(len(seq), L + 1)

    train_stage("stage4", STAGE4, args, tok, held_files, padded, started)


if __name__ == "__main__":
    main()
