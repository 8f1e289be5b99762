"""
Routing statistics of the trained model on token windows (JSON list of lists), at the trained k:
per layer, each expert's share of the assignments, the router's mean entropy, and routing
locality — the share of a token's experts that the previous token also used (what makes an
expert cache work).
"""
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from model import Config, MoEModel  # noqa: E402

train_dir, windows_json = sys.argv[1], sys.argv[2]
manifest = json.load(open(os.path.join(train_dir, "manifest.json")))
c = Config(**manifest["config"])
model = MoEModel(c)
model.load_state_dict(torch.load(os.path.join(train_dir, "model.pt")))
model.eval()
windows = json.load(open(windows_json))

counts = torch.zeros(c.layers, c.experts)
entropy = torch.zeros(c.layers)
shared = torch.zeros(c.layers)
tokens = 0
pairs = 0
with torch.no_grad():
    for w in windows:
        _, routing = model(torch.tensor([w]))
        for layer, (probs, chosen) in enumerate(routing):
            counts[layer] += torch.bincount(chosen.reshape(-1), minlength=c.experts).float()
            entropy[layer] += -(probs * probs.clamp_min(1e-12).log2()).sum(-1).sum()
            a, b = chosen[1:], chosen[:-1]
            shared[layer] += (a.unsqueeze(-1) == b.unsqueeze(-2)).any(-1).float().sum() / c.experts_used
        tokens += len(w)
        pairs += len(w) - 1

load = counts / counts.sum(-1, keepdim=True)
print(json.dumps({
    "k": c.experts_used,
    "tokens": tokens,
    "perLayer": [{
        "layer": layer,
        "expertLoad": [round(x, 4) for x in load[layer].tolist()],
        "maxOverMeanLoad": round(load[layer].max().item() * c.experts, 3),
        "routerEntropyBits": round(entropy[layer].item() / tokens, 3),
        "maxEntropyBits": round(math.log2(c.experts), 3),
        "locality": round(shared[layer].item() / pairs, 4),
        "localityIfRandom": round(c.experts_used / c.experts, 4),
    } for layer in range(c.layers)],
}))
