"""Logits of the trained PyTorch model for a token sequence, to compare with llama.cpp's (checkExport.ts)."""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from model import Config, MoEModel  # noqa: E402

train_dir, tokens_json, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
manifest = json.load(open(os.path.join(train_dir, "manifest.json")))
model = MoEModel(Config(**manifest["config"]))
model.load_state_dict(torch.load(os.path.join(train_dir, "model.pt")))
model.eval()
tokens = json.load(open(tokens_json))
with torch.no_grad():
    logits, _ = model(torch.tensor([tokens]), k=k)
json.dump(logits[0].tolist(), sys.stdout)
