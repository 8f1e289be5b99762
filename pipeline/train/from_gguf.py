"""
Reads the demo model's GGUF back into a trainer checkpoint, so a later stage starts from the model
file that ships (not from a checkpoint only the machine that trained it has):

  python3 pipeline/train/from_gguf.py .cache/stage2.gguf .cache/train-fim   (pipeline/trainDemoModel.sh --stage3)
  python3 pipeline/train/from_gguf.py --stage3 .cache/stage3.gguf .cache/train-ctx   (--stage4)

Writes model.pt (the GGUF's tensors, Q8_0 dequantized, under the trainer's parameter names),
tokenizer.json (the GGUF's tokens and merges) and manifest.json (the architecture from the GGUF;
stages one and two, and three with --stage3, as their scripts and their committed logs,
models/embedded/training.log, finetune.log and stage3.log, record them,
so the model card can still describe them). Reads the GGUF with llama.cpp's own gguf-py, from the
llama.cpp source node-llama-cpp carries (the native build unpacks it).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(__file__)
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
GGUF_PY = os.path.join(ROOT, "node_modules", "node-llama-cpp", "llama", "llama.cpp", "gguf-py")
if not os.path.isdir(GGUF_PY):
    raise SystemExit(f"{GGUF_PY} is missing: `node native/build.mjs` unpacks node-llama-cpp's llama.cpp source")
sys.path.insert(0, GGUF_PY)
from gguf import GGUFReader  # noqa: E402
from gguf.quants import dequantize  # noqa: E402

from finetune_context import STAGE3  # noqa: E402
from finetune_fim import FINETUNE  # noqa: E402
from model import Config, MoEModel  # noqa: E402
from train import TRAINING, export  # noqa: E402
from tokenizer import Tokenizer  # noqa: E402


def field(reader: GGUFReader, key: str):
    f = reader.fields[key]
    if f.types and f.types[0].name == "STRING":
        return bytes(f.parts[f.data[0]]).decode("utf-8")
    return f.parts[f.data[0]].tolist()[0]


def strings(reader: GGUFReader, key: str) -> list[str]:
    f = reader.fields[key]
    return [bytes(f.parts[i]).decode("utf-8") for i in f.data]


def log_lines(path: str) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for line in f if line.startswith("{")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("gguf")
    ap.add_argument("out")
    ap.add_argument("--stage3", action="store_true", help="the file is stage three's: its log (models/embedded/stage3.log) goes into the manifest too")
    args = ap.parse_args()
    reader = GGUFReader(args.gguf)
    arch = field(reader, "general.architecture")
    a = lambda k: field(reader, f"{arch}.{k}")  # noqa: E731
    tokens = strings(reader, "tokenizer.ggml.tokens")
    c = Config(vocab=len(tokens), d=a("embedding_length"), layers=a("block_count"), heads=a("attention.head_count"),
               kv_heads=a("attention.head_count_kv"), head_dim=a("attention.key_length"), experts=a("expert_count"),
               experts_used=a("expert_used_count"), expert_ff=a("expert_feed_forward_length"),
               rope_base=float(a("rope.freq_base")), eps=float(a("attention.layer_norm_rms_epsilon")))
    model = MoEModel(c)
    names = {"token_embd.weight": "embed.weight", "output_norm.weight": "norm.weight"}
    for i in range(c.layers):
        for gguf_name, torch_name in [("attn_norm", "attn_norm.weight"), ("attn_q", "q.weight"), ("attn_k", "k.weight"),
                                      ("attn_v", "v.weight"), ("attn_output", "o.weight"), ("attn_q_norm", "q_norm.weight"),
                                      ("attn_k_norm", "k_norm.weight"), ("ffn_norm", "ffn_norm.weight"),
                                      ("ffn_gate_inp", "moe.router.weight"), ("ffn_gate_exps", "moe.gate"),
                                      ("ffn_up_exps", "moe.up"), ("ffn_down_exps", "moe.down")]:
            names[f"blk.{i}.{gguf_name}.weight"] = f"blocks.{i}.{torch_name}"
    state = model.state_dict()
    seen = set()
    for t in reader.tensors:
        target = names[t.name]
        values = dequantize(t.data, t.tensor_type).astype(np.float32)
        expected = tuple(state[target].shape)
        state[target] = torch.from_numpy(values.reshape(expected).copy())
        seen.add(target)
    missing = set(state) - seen
    if missing:
        raise SystemExit(f"the GGUF lacks {sorted(missing)}")
    model.load_state_dict(state)

    merges = strings(reader, "tokenizer.ggml.merges")
    tok = Tokenizer(tokens, [tuple(m.split(" ", 1)) for m in merges])
    os.makedirs(args.out, exist_ok=True)
    tok.save(os.path.join(args.out, "tokenizer.json"))

    embedded = os.path.join(ROOT, "models", "embedded")
    stage1 = log_lines(os.path.join(embedded, "training.log"))
    stage2 = log_lines(os.path.join(embedded, "finetune.log"))
    info = {
        "training": TRAINING,
        "parameters": sum(p.numel() for p in model.parameters()),
        "steps": stage1[-1]["step"],
        "tokens": stage1[-1]["tokens"],
        "minutes": stage1[-1]["minutes"],
        "log": stage1,
        "finetune": {"settings": FINETUNE, "steps": stage2[-1]["step"], "tokens": stage2[-1]["tokens"], "log": stage2,
                     "minutes": stage2[-1]["minutes"]},
        "from_gguf": os.path.relpath(os.path.abspath(args.gguf), ROOT),
    }
    if args.stage3:
        stage3 = log_lines(os.path.join(embedded, "stage3.log"))
        info["stage3"] = {"settings": STAGE3, "steps": stage3[-1]["step"], "tokens": stage3[-1]["tokens"], "log": stage3,
                          "minutes": stage3[-1]["minutes"]}
    export(model, c, tok, args.out, info)
    print(f"{args.gguf}: {len(reader.tensors)} tensors, {info['parameters'] / 1e6:.2f} M parameters -> {args.out}")


if __name__ == "__main__":
    main()
