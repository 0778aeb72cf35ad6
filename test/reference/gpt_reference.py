"""A nanoGPT-style GPT in PyTorch: the reference the lab's engine is checked against.

It mirrors src/core/gpt/config.ts exactly: state_dict names are nanoGPT's,
matrices are nn.Linear weights (out, in), the LM head is tied to wte, GELU is
the tanh approximation, LayerNorm eps is 1e-5, no dropout. The loss is the
lab's weighted token cross-entropy: loss = sum(w * ce), per-sequence sums.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        self.n_heads = n_heads
        self.ln_1 = nn.LayerNorm(d_model, eps=1e-5)
        self.attn = nn.Module()
        self.attn.c_attn = nn.Linear(d_model, 3 * d_model)
        self.attn.c_proj = nn.Linear(d_model, d_model)
        self.ln_2 = nn.LayerNorm(d_model, eps=1e-5)
        self.mlp = nn.Module()
        self.mlp.c_fc = nn.Linear(d_model, 4 * d_model)
        self.mlp.c_proj = nn.Linear(4 * d_model, d_model)

    def attention(self, x):
        B, T, C = x.shape
        hs = C // self.n_heads
        q, k, v = self.attn.c_attn(x).split(C, dim=2)
        q = q.view(B, T, self.n_heads, hs).transpose(1, 2)  # (B, NH, T, hs)
        k = k.view(B, T, self.n_heads, hs).transpose(1, 2)
        v = v.view(B, T, self.n_heads, hs).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hs)  # (B, NH, T, T)
        mask = torch.ones(T, T, dtype=torch.bool).tril()
        att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        return self.attn.c_proj(y)

    def forward(self, x):
        x = x + self.attention(self.ln_1(x))
        return x + self.mlp.c_proj(F.gelu(self.mlp.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, vocab_size: int, context_length: int, d_model: int, n_layers: int, n_heads: int):
        super().__init__()
        self.transformer = nn.Module()
        self.transformer.wte = nn.Embedding(vocab_size, d_model)
        self.transformer.wpe = nn.Embedding(context_length, d_model)
        self.transformer.h = nn.ModuleList([Block(d_model, n_heads) for _ in range(n_layers)])
        self.transformer.ln_f = nn.LayerNorm(d_model, eps=1e-5)

    @staticmethod
    def from_config(config: dict) -> "GPT":
        return GPT(config["vocabSize"], config["contextLength"], config["dModel"], config["nLayers"], config["nHeads"])

    def forward(self, idx):
        B, T = idx.shape
        x = self.transformer.wte(idx) + self.transformer.wpe(torch.arange(T))
        for block in self.transformer.h:
            x = block(x)
        return self.transformer.ln_f(x) @ self.transformer.wte.weight.T  # tied head: (B, T, V)


def weighted_loss(logits, targets, weights):
    """loss = sum(w * ce) and its per-sequence sums, as the lab defines them."""
    ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none")
    per_token = weights.reshape(-1) * ce
    return per_token.sum(), per_token.view(targets.shape).sum(dim=1)


def param_groups(model: GPT, weight_decay: float):
    """Decay matrices and embeddings, not biases or LayerNorm (as the lab's ParamView.decay)."""
    decay = [p for _, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for _, p in model.named_parameters() if p.dim() < 2]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def lr_at(step: int, c: dict) -> float:
    """src/core/optim.ts lrAt: linear warmup, then cosine to minLrRatio * peak."""
    peak = c["learningRate"]
    if step < c["warmupSteps"]:
        return peak * (step + 1) / c["warmupSteps"]
    decay_steps = max(1, c["totalSteps"] - c["warmupSteps"])
    progress = min(1.0, (step - c["warmupSteps"]) / decay_steps)
    floor = peak * c["minLrRatio"]
    return floor + 0.5 * (peak - floor) * (1 + math.cos(math.pi * progress))
