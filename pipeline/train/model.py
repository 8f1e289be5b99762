"""
The demo model in PyTorch, written to compute exactly what llama.cpp's `qwen3moe` graph computes
(src/models/qwen3moe.cpp), so that the exported GGUF behaves as trained:

  x = embed(tokens)
  per layer:
    h = rmsnorm(x) * attn_norm
    q, k, v = Wq h, Wk h, Wv h;  q, k = rmsnorm per head * q_norm / k_norm;  NEOX RoPE on q, k
    x = x + Wo · causal_attention(q, k, v)          (grouped-query: kv heads shared)
    h = rmsnorm(x) * ffn_norm
    p = softmax(W_router h);  top-k experts;  weights renormalised to sum 1
    x = x + Σ_top-k w_e · down_e(silu(gate_e h) * up_e h)
  logits = embed^T · (rmsnorm(x) * output_norm)        (tied output layer)

Every layer is MoE, no shared expert, softmax top-k routing: the llama.cpp `qwen3moe` shape.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class Config:
    vocab: int = 8192
    d: int = 192
    layers: int = 4
    heads: int = 6
    kv_heads: int = 2
    head_dim: int = 32
    experts: int = 8
    experts_used: int = 2
    expert_ff: int = 256
    context: int = 4096
    rope_base: float = 10000.0
    eps: float = 1e-6

    def to_dict(self):
        return asdict(self)


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope(x: torch.Tensor, base: float) -> torch.Tensor:
    """NEOX-style rotary embedding (llama.cpp LLAMA_ROPE_TYPE_NEOX): dimension i pairs with i + half."""
    b, h, t, dim = x.shape
    half = dim // 2
    inv = base ** (-torch.arange(0, half, dtype=torch.float32) / half)
    ang = torch.arange(t, dtype=torch.float32)[:, None] * inv[None, :]
    cos, sin = ang.cos(), ang.sin()
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


class MoE(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        self.router = nn.Linear(c.d, c.experts, bias=False)
        scale = 1 / math.sqrt(c.d)
        self.gate = nn.Parameter(torch.randn(c.experts, c.expert_ff, c.d) * scale)
        self.up = nn.Parameter(torch.randn(c.experts, c.expert_ff, c.d) * scale)
        self.down = nn.Parameter(torch.randn(c.experts, c.d, c.expert_ff) / math.sqrt(c.expert_ff))

    def forward(self, h: torch.Tensor, k: int):
        """Returns the output, the router probabilities and the chosen experts (for the balance loss and statistics)."""
        shape = h.shape
        x = h.reshape(-1, shape[-1])
        probs = F.softmax(self.router(x), dim=-1)
        top_w, top_i = probs.topk(k, dim=-1)
        top_w = top_w / top_w.sum(-1, keepdim=True)
        out = torch.zeros_like(x)
        for e in range(self.c.experts):
            rows, slot = (top_i == e).nonzero(as_tuple=True)
            if rows.numel() == 0:
                continue
            xe = x[rows]
            ye = (F.silu(xe @ self.gate[e].T) * (xe @ self.up[e].T)) @ self.down[e].T
            out.index_add_(0, rows, ye * top_w[rows, slot, None])
        return out.reshape(shape), probs, top_i


class Block(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        self.attn_norm = RMSNorm(c.d, c.eps)
        self.q = nn.Linear(c.d, c.heads * c.head_dim, bias=False)
        self.k = nn.Linear(c.d, c.kv_heads * c.head_dim, bias=False)
        self.v = nn.Linear(c.d, c.kv_heads * c.head_dim, bias=False)
        self.o = nn.Linear(c.heads * c.head_dim, c.d, bias=False)
        self.q_norm = RMSNorm(c.head_dim, c.eps)
        self.k_norm = RMSNorm(c.head_dim, c.eps)
        self.ffn_norm = RMSNorm(c.d, c.eps)
        self.moe = MoE(c)

    def forward(self, x, k: int):
        c = self.c
        b, t, _ = x.shape
        h = self.attn_norm(x)
        q = self.q_norm(self.q(h).view(b, t, c.heads, c.head_dim)).transpose(1, 2)
        kk = self.k_norm(self.k(h).view(b, t, c.kv_heads, c.head_dim)).transpose(1, 2)
        v = self.v(h).view(b, t, c.kv_heads, c.head_dim).transpose(1, 2)
        q, kk = rope(q, c.rope_base), rope(kk, c.rope_base)
        rep = c.heads // c.kv_heads
        kk, v = kk.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        scores = (q @ kk.transpose(-1, -2)) / math.sqrt(c.head_dim)
        scores = scores.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf"))
        att = F.softmax(scores, dim=-1) @ v
        x = x + self.o(att.transpose(1, 2).reshape(b, t, c.heads * c.head_dim))
        y, probs, chosen = self.moe(self.ffn_norm(x), k)
        return x + y, probs, chosen


class MoEModel(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        self.embed = nn.Embedding(c.vocab, c.d)
        nn.init.normal_(self.embed.weight, std=0.02)
        self.blocks = nn.ModuleList(Block(c) for _ in range(c.layers))
        self.norm = RMSNorm(c.d, c.eps)

    def forward(self, tokens: torch.Tensor, k: int | None = None):
        """Logits, and per layer the router probabilities and chosen experts."""
        k = k or self.c.experts_used
        x = self.embed(tokens)
        routing = []
        for block in self.blocks:
            x, probs, chosen = block(x, k)
            routing.append((probs, chosen))
        return self.norm(x) @ self.embed.weight.T, routing


def balance_loss(routing, experts: int) -> torch.Tensor:
    """Switch-Transformer load balancing: experts · Σ_e (share of tokens routed to e) · (mean router probability of e)."""
    total = 0.0
    for probs, chosen in routing:
        share = F.one_hot(chosen, experts).float().sum(1).mean(0) / chosen.shape[-1]
        total = total + experts * (share * probs.mean(0)).sum()
    return total / len(routing)
