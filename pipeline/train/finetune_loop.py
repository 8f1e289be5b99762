"""
The loop every fine-tuning stage runs (finetune_fim.py, finetune_context.py): AdamW with decay on
matrices only, linear warm-up then cosine to `min_lr_ratio`, the load-balancing loss, gradient
clipping at 1.0, held-out loss every `eval_every_steps`. Same settings and samples: the same steps.

A sample is a list of L+1 tokens, every one a target (stage two), or `(tokens, start, length)`
(stage three; stage four's packed samples give a list of `(start, end)` spans for `start`): the loss is then a mix, weighted by `target_weight`, of the mean over every token up
to `length` (padding is not counted) and the mean over samples of what each asks the model to write
(from `start`: a middle, an answer, a next edit), so a one-line middle weighs as much as a page of
text without the model unlearning the text around it.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import time
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from model import Config, MoEModel, balance_loss
from tokenizer import FILE_SEP, Tokenizer
from train import export


def stage_setup(settings: dict, base: str, out: str, show_help: str) -> tuple[argparse.Namespace, random.Random, float]:
    """A fine-tuning stage's command line (`--set key=value` changes `settings` in place), its seeds and threads:
    the arguments, the samples' random generator and the start time."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", default=base)
    ap.add_argument("--corpus", default=".cache/corpus")
    ap.add_argument("--out", default=out)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--show", type=int, default=0, help=show_help)
    ap.add_argument("--stop-after", type=int, default=None, help="stop after this many steps, schedule unchanged (a check that a run repeats, or a partial run to probe)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a setting changed, for an experiment (not the embedded model's)")
    args = ap.parse_args()
    for item in args.set:
        key, value = item.split("=", 1)
        if key not in settings:
            raise SystemExit(f"no setting {key}")
        settings[key] = type(settings[key])(value)
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(args.threads)
    random.seed(settings["seed"])
    np.random.seed(settings["seed"])
    torch.manual_seed(settings["seed"])
    return args, random.Random(settings["seed"]), time.time()


def train_stage(name: str, settings: dict, args: argparse.Namespace, tok: Tokenizer, held_files: list[dict],
                sample: Callable[[], tuple], started: float) -> None:
    """Fine-tunes the model in `args.base` on `sample()` and exports it to `args.out`, with the earlier stages' record
    and this one's under `name`."""
    L = settings["sequence"]
    held_tokens = []
    for f in held_files:
        held_tokens += [FILE_SEP] + tok.encode(f["text"])
    held = torch.tensor(held_tokens[: settings["eval_tokens"] // L * L + 1])
    with open(os.path.join(args.base, "manifest.json")) as f:
        base = json.load(f)
    c = Config(**base["config"])
    model = MoEModel(c)
    model.load_state_dict(torch.load(os.path.join(args.base, "model.pt")))
    tok.save(os.path.join(args.out, "tokenizer.json"))

    step, tokens_seen, log = finetune(model, c, settings, sample, held, started, stop_after=args.stop_after)

    info = {k: v for k, v in base.items() if k not in ("config", "tensors")}
    info[name] = {"settings": settings, "steps": step, "tokens": tokens_seen, "log": log, "minutes": round((time.time() - started) / 60, 1)}
    export(model, c, tok, args.out, info)
    print(f"done in {(time.time() - started) / 60:.1f} min", flush=True)


def finetune(model: MoEModel, c: Config, settings: dict, sample: Callable[[], list[int]], held: torch.Tensor,
             started: float, stop_after: int | None = None) -> tuple[int, int, list[dict]]:
    """Runs `settings["steps"]` steps on batches of `sample()` (or the first `stop_after` of them); returns (steps, tokens seen, log)."""
    L = settings["sequence"]

    def held_loss():
        model.eval()
        with torch.no_grad():
            x, y = held[:-1].view(-1, L), held[1:].view(-1, L)
            total = 0.0
            for i in range(0, x.shape[0], 4):
                logits, _ = model(x[i:i + 4])
                total += F.cross_entropy(logits.reshape(-1, c.vocab), y[i:i + 4].reshape(-1), reduction="sum").item()
        model.train()
        return total / y.numel()

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": settings["weight_decay"]}, {"params": no_decay, "weight_decay": 0}],
                            lr=settings["lr"], betas=(0.9, 0.95))
    log = [{"step": 0, "tokens": 0, "heldout_loss": round(held_loss(), 4)}]
    print(json.dumps(log[0]), flush=True)
    step, tokens_seen = 0, 0
    total = settings["steps"]
    while step < min(total, stop_after if stop_after is not None else total):
        if step < settings["warmup_steps"]:
            lr = settings["lr"] * (step + 1) / settings["warmup_steps"]
        else:
            progress = (step - settings["warmup_steps"]) / max(1, total - settings["warmup_steps"])
            lr = settings["lr"] * (settings["min_lr_ratio"] + (1 - settings["min_lr_ratio"]) * 0.5 * (1 + math.cos(math.pi * progress)))
        for g in opt.param_groups:
            g["lr"] = lr
        samples = [sample() for _ in range(settings["batch"])]
        if isinstance(samples[0], tuple):
            batch = torch.tensor([s[0] for s in samples])
            real = torch.zeros(batch.shape[0], batch.shape[1] - 1, dtype=torch.bool)
            target = torch.zeros_like(real)
            for i, (_, start, end) in enumerate(samples):
                real[i, : end - 1] = True
                for a, b in start if isinstance(start, list) else [(start, end)]:
                    target[i, max(0, a - 1): b - 1] = True
            logits, routing = model(batch[:, :-1])
            per_token = F.cross_entropy(logits.reshape(-1, c.vocab), batch[:, 1:].reshape(-1), reduction="none").view(real.shape)
            every = (per_token * real).sum() / real.sum().clamp(min=1)
            asked = ((per_token * target).sum(1) / target.sum(1).clamp(min=1)).mean()
            w = settings["target_weight"]
            lm = (1 - w) * every + w * asked
        else:
            batch = torch.tensor(samples)
            logits, routing = model(batch[:, :-1])
            lm = F.cross_entropy(logits.reshape(-1, c.vocab), batch[:, 1:].reshape(-1))
        bal = balance_loss(routing, c.experts)
        opt.zero_grad(set_to_none=True)
        (lm + settings["balance_coef"] * bal).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        tokens_seen += batch[:, 1:].numel()
        if step % settings["eval_every_steps"] == 0 or step == total:
            entry = {"step": step, "tokens": tokens_seen, "train_loss": round(lm.item(), 4), "balance": round(bal.item(), 4),
                     "heldout_loss": round(held_loss(), 4), "lr": lr, "minutes": round((time.time() - started) / 60, 1)}
            log.append(entry)
            print(json.dumps(entry), flush=True)
    return step, tokens_seen, log
