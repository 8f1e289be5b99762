"""
Trains the embedded demo model from scratch on CPU, reproducibly (fixed seed, fixed steps).

  python3 pipeline/train/train.py --corpus .cache/corpus --out .cache/train [--minutes 100]

Steps: train the BPE tokenizer on the training files; tokenize; train the MoE with next-token
loss on plain and fill-in-the-middle samples (half of them; of those half PSM, half SPM, cut at
random points, half of the cuts on line ends) plus a load-balancing loss; export the weights
(raw float32 + manifest) for pipeline/exportModel.ts, which writes the quantized GGUF.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from model import Config, MoEModel, balance_loss  # noqa: E402
from tokenizer import EOS, FIM_MIDDLE, FIM_PREFIX, FIM_SUFFIX, FILE_SEP, Tokenizer, train_bpe  # noqa: E402

TRAINING = {
    "seed": 1234,
    "vocab": 8192,
    "sequence": 256,
    "batch": 16,
    "lr": 3e-3,
    "min_lr_ratio": 0.1,
    "warmup_steps": 60,
    "weight_decay": 0.1,
    "balance_coef": 0.01,
    "fim_rate": 0.5,
    "spm_share": 0.5,
    "line_cut_share": 0.5,
    # 2,220 steps of 16 x 256 tokens (9.1 M tokens): about 85 minutes on 2 cores at ~1,900 tokens/s.
    "steps": 2220,
    "eval_every_steps": 100,
    "eval_tokens": 16384,
}


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def fim_sample(tok: Tokenizer, text: str, rng: random.Random, length: int) -> list[int]:
    """One FIM training sequence from `text`: prefix/middle/suffix cut at random (or line) boundaries."""
    if rng.random() < TRAINING["line_cut_share"]:
        ends = [i + 1 for i, ch in enumerate(text) if ch == "\n"] or [len(text)]
        a, b = sorted(rng.sample(ends, 2)) if len(ends) >= 2 else (0, len(text))
    else:
        a, b = sorted(rng.randrange(len(text) + 1) for _ in range(2))
    prefix, middle, suffix = tok.encode(text[:a]), tok.encode(text[a:b]), tok.encode(text[b:])
    # Keep the middle and the text nearest to it when the sample is too long.
    budget = length + 1 - 4 - len(middle)
    if budget < 8:
        middle = middle[: length // 2]
        budget = length + 1 - 4 - len(middle)
    keep_suffix = min(len(suffix), budget // 3)
    suffix = suffix[:keep_suffix]
    prefix = prefix[max(0, len(prefix) - (budget - keep_suffix)):]
    if rng.random() < TRAINING["spm_share"]:  # SPM, joint variant: <PRE><SUF>suffix<MID>prefix middle
        seq = [FIM_PREFIX, FIM_SUFFIX] + suffix + [FIM_MIDDLE] + prefix + middle + [EOS]
    else:  # PSM: <PRE>prefix<SUF>suffix<MID>middle
        seq = [FIM_PREFIX] + prefix + [FIM_SUFFIX] + suffix + [FIM_MIDDLE] + middle + [EOS]
    return seq


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=".cache/corpus")
    ap.add_argument("--out", default=".cache/train")
    ap.add_argument("--minutes", type=float, default=100, help="warn when the run will take longer than this")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(args.threads)
    random.seed(TRAINING["seed"])
    np.random.seed(TRAINING["seed"])
    torch.manual_seed(TRAINING["seed"])
    rng = random.Random(TRAINING["seed"])
    started = time.time()

    train_files = load(os.path.join(args.corpus, "train.jsonl"))
    held_files = load(os.path.join(args.corpus, "heldout.jsonl"))
    vocab, merges = train_bpe([f["text"] for f in train_files], TRAINING["vocab"])
    tok = Tokenizer(vocab, merges)
    tok.save(os.path.join(args.out, "tokenizer.json"))
    print(f"tokenizer: {len(vocab)} tokens in {time.time() - started:.0f} s", flush=True)

    # Languages are sampled equally, whatever their share of bytes; files in proportion to their length.
    by_lang: dict[str, list[dict]] = {}
    for f in train_files:
        by_lang.setdefault(f["language"], []).append(f)
    encoded = {lang: [tok.encode(f["text"]) for f in files] for lang, files in by_lang.items()}
    weights = {lang: np.array([len(t) for t in toks], dtype=np.float64) for lang, toks in encoded.items()}
    weights = {lang: w / w.sum() for lang, w in weights.items()}
    print("train tokens: " + ", ".join(f"{lang} {sum(map(len, t))}" for lang, t in encoded.items()), flush=True)

    L = TRAINING["sequence"]

    def sample() -> list[int]:
        lang = rng.choice(sorted(encoded))
        i = int(np.random.choice(len(encoded[lang]), p=weights[lang]))
        if rng.random() < TRAINING["fim_rate"]:
            text = by_lang[lang][i]["text"]
            # A window of about a sequence's worth of characters.
            span = int(L * 3.5)
            start = rng.randrange(max(1, len(text) - span + 1))
            seq = fim_sample(tok, text[start:start + span], rng, L)
        else:
            toks = encoded[lang][i] + [EOS]
            start = rng.randrange(max(1, len(toks) - L))
            seq = toks[start:start + L + 1]
        return (seq + [EOS] * (L + 1))[: L + 1]

    held_tokens = []
    for f in held_files:
        held_tokens += [FILE_SEP] + tok.encode(f["text"])
    held = torch.tensor(held_tokens[: TRAINING["eval_tokens"] // L * L + 1])

    c = Config(vocab=len(vocab))
    model = MoEModel(c)
    params = sum(p.numel() for p in model.parameters())
    print(f"model: {json.dumps(c.to_dict())}, {params / 1e6:.2f} M parameters", flush=True)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": TRAINING["weight_decay"]}, {"params": no_decay, "weight_decay": 0}],
                            lr=TRAINING["lr"], betas=(0.9, 0.95))

    deadline = started + args.minutes * 60
    train_started = time.time()
    step, tokens_seen = 0, 0
    log = []

    def held_loss():
        model.eval()
        with torch.no_grad():
            x = held[:-1].view(-1, L)
            y = held[1:].view(-1, L)
            total = 0.0
            for i in range(0, x.shape[0], 8):
                logits, _ = model(x[i:i + 8])
                total += F.cross_entropy(logits.reshape(-1, c.vocab), y[i:i + 8].reshape(-1), reduction="sum").item()
        model.train()
        return total / y.numel()

    # A fixed number of steps, not a time budget, so that the same seed gives the same model on any machine.
    total_steps = TRAINING["steps"]
    while step < total_steps:
        if step == 20:
            per_step = (time.time() - train_started) / 20
            print(f"{per_step:.2f} s/step: {total_steps} steps will take about {per_step * total_steps / 60:.0f} min", flush=True)
            if time.time() + per_step * (total_steps - 20) > deadline:
                print(f"warning: this machine will need longer than --minutes {args.minutes}", flush=True)
        horizon = total_steps
        if step < TRAINING["warmup_steps"]:
            lr = TRAINING["lr"] * (step + 1) / TRAINING["warmup_steps"]
        else:
            progress = min(1.0, (step - TRAINING["warmup_steps"]) / max(1, horizon - TRAINING["warmup_steps"]))
            lr = TRAINING["lr"] * (TRAINING["min_lr_ratio"] + (1 - TRAINING["min_lr_ratio"]) * 0.5 * (1 + math.cos(math.pi * progress)))
        for g in opt.param_groups:
            g["lr"] = lr
        batch = torch.tensor([sample() for _ in range(TRAINING["batch"])])
        logits, routing = model(batch[:, :-1])
        lm = F.cross_entropy(logits.reshape(-1, c.vocab), batch[:, 1:].reshape(-1))
        bal = balance_loss(routing, c.experts)
        loss = lm + TRAINING["balance_coef"] * bal
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        tokens_seen += batch[:, 1:].numel()
        if step % TRAINING["eval_every_steps"] == 0 or step == total_steps:
            hl = held_loss()
            entry = {"step": step, "tokens": tokens_seen, "train_loss": round(lm.item(), 4), "balance": round(bal.item(), 4),
                     "heldout_loss": round(hl, 4), "lr": lr, "minutes": round((time.time() - started) / 60, 1)}
            log.append(entry)
            print(json.dumps(entry), flush=True)

    export(model, c, tok, args.out, {"training": TRAINING, "steps": step, "tokens": tokens_seen, "log": log,
                                      "minutes": round((time.time() - started) / 60, 1), "parameters": params})
    print(f"done in {(time.time() - started) / 60:.1f} min", flush=True)


def export(model: MoEModel, c: Config, tok: Tokenizer, out: str, info: dict):
    """Raw float32 tensors in llama.cpp's names and ggml shape order (the reverse of PyTorch's), and a manifest."""
    weights_dir = os.path.join(out, "weights")
    os.makedirs(weights_dir, exist_ok=True)
    tensors = []

    def put(name, t, kind):
        arr = t.detach().contiguous().float().numpy()
        file = name + ".f32"
        arr.tofile(os.path.join(weights_dir, file))
        tensors.append({"name": name, "shape": list(reversed(arr.shape)), "file": file, "kind": kind})

    put("token_embd.weight", model.embed.weight, "matrix")
    put("output_norm.weight", model.norm.weight, "norm")
    for i, b in enumerate(model.blocks):
        p = f"blk.{i}."
        put(p + "attn_norm.weight", b.attn_norm.weight, "norm")
        put(p + "attn_q.weight", b.q.weight, "matrix")
        put(p + "attn_k.weight", b.k.weight, "matrix")
        put(p + "attn_v.weight", b.v.weight, "matrix")
        put(p + "attn_output.weight", b.o.weight, "matrix")
        put(p + "attn_q_norm.weight", b.q_norm.weight, "norm")
        put(p + "attn_k_norm.weight", b.k_norm.weight, "norm")
        put(p + "ffn_norm.weight", b.ffn_norm.weight, "norm")
        put(p + "ffn_gate_inp.weight", b.moe.router.weight, "router")
        put(p + "ffn_gate_exps.weight", b.moe.gate, "matrix")
        put(p + "ffn_up_exps.weight", b.moe.up, "matrix")
        put(p + "ffn_down_exps.weight", b.moe.down, "matrix")
    torch.save(model.state_dict(), os.path.join(out, "model.pt"))
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump({"config": c.to_dict(), "tensors": tensors, **info}, f, indent=1)


def load_checkpoint(directory: str) -> tuple[MoEModel, Config, Tokenizer]:
    """What `export` wrote, back: the model (in eval mode), its configuration and its tokenizer."""
    with open(os.path.join(directory, "manifest.json")) as f:
        c = Config(**json.load(f)["config"])
    model = MoEModel(c)
    model.load_state_dict(torch.load(os.path.join(directory, "model.pt")))
    model.eval()
    return model, c, Tokenizer.load(os.path.join(directory, "tokenizer.json"))


if __name__ == "__main__":
    main()
