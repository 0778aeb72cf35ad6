"""PyTorch peer of `npm run bench -- train`: one nanoGPT-style training step
(forward, backward, clip_grad_norm_, torch.optim.AdamW) on CPU with ONE thread,
timed with the protocol of bench/protocol.ts.

Run by bin/bench.ts with Debian's interpreter (/usr/bin/python3, python3-torch):

    /usr/bin/python3 bench/torch_train.py SPEC.json

SPEC.json (written by bin/bench.ts) holds the model config, the batch shape,
the step counts and budget, the parameter layout (nanoGPT state_dict names,
offsets and shapes) and the paths of two raw little-endian files: the initial
parameters (float32, our flat layout) and the batch (int32 inputs then int32
targets, each B*T). The model therefore starts from exactly the parameters
our engines start from, and its first loss must equal theirs.

Prints ONE JSON line: {"ok": true, "run": EngineRun} (see bench/protocol.ts),
or {"ok": false, "notMeasured": true, "reason": ...}.
"""
import json
import math
import os
import platform
import resource
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except Exception as e:  # noqa: BLE001 - any import failure means "not measured"
    print(json.dumps({"ok": False, "notMeasured": True, "reason": f"import torch failed: {e}"}))
    sys.exit(0)


class CausalSelfAttention(nn.Module):
    """nanoGPT's attention, slow path (torch 1.13 has no scaled_dot_product_attention)."""

    def __init__(self, C, NH, T):
        super().__init__()
        self.c_attn = nn.Linear(C, 3 * C)
        self.c_proj = nn.Linear(C, C)
        self.n_head = NH
        self.register_buffer("bias", torch.tril(torch.ones(T, T)).view(1, 1, T, T), persistent=False)

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(C, dim=2)
        hs = C // self.n_head
        q = q.view(B, T, self.n_head, hs).transpose(1, 2)  # (B, NH, T, hs)
        k = k.view(B, T, self.n_head, hs).transpose(1, 2)
        v = v.view(B, T, self.n_head, hs).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y)


class MLP(nn.Module):
    def __init__(self, C):
        super().__init__()
        self.c_fc = nn.Linear(C, 4 * C)
        self.c_proj = nn.Linear(4 * C, C)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))


class Block(nn.Module):
    def __init__(self, C, NH, T):
        super().__init__()
        self.ln_1 = nn.LayerNorm(C, eps=1e-5)
        self.attn = CausalSelfAttention(C, NH, T)
        self.ln_2 = nn.LayerNorm(C, eps=1e-5)
        self.mlp = MLP(C)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """nanoGPT's GPT with the LM head tied to wte (as our engine)."""

    def __init__(self, cfg):
        super().__init__()
        V, T, C = cfg["vocabSize"], cfg["contextLength"], cfg["dModel"]
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(V, C),
            wpe=nn.Embedding(T, C),
            h=nn.ModuleList([Block(C, cfg["nHeads"], T) for _ in range(cfg["nLayers"])]),
            ln_f=nn.LayerNorm(C, eps=1e-5),
        ))

    def forward(self, idx):
        B, T = idx.size()
        pos = torch.arange(T, dtype=torch.long)
        x = self.transformer.wte(idx) + self.transformer.wpe(pos)
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        return x @ self.transformer.wte.weight.t()  # tied head, (B, T, V)


def rss_bytes():
    """Current resident set size of this process (Linux /proc), bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def median(xs):
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def blas_description():
    """Which BLAS torch's matmuls go to (Debian links the libblas.so.3 alternative)."""
    info = torch.__config__.show()
    blas = next((p.split("=", 1)[1] for p in info.replace(",", " ").split() if p.startswith("BLAS_INFO=")), "?")
    alt = "/etc/alternatives/libblas.so.3-x86_64-linux-gnu"
    if os.path.exists(alt):
        blas += f" -> {os.path.realpath(alt)}"
    return blas


def main():
    spec = json.load(open(sys.argv[1]))
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    cfg, B, T = spec["config"], spec["B"], spec["T"]
    rss_before = rss_bytes()
    setup_start = time.perf_counter()

    model = GPT(cfg)
    flat = torch.frombuffer(bytearray(open(spec["paramsPath"], "rb").read()), dtype=torch.float32)
    state = model.state_dict()
    with torch.no_grad():
        for view in spec["layout"]:
            start, size = view["offset"], math.prod(view["shape"])
            state[view["name"]].copy_(flat[start:start + size].view(view["shape"]))
    tokens = torch.frombuffer(bytearray(open(spec["batchPath"], "rb").read()), dtype=torch.int32).long()
    inputs = tokens[: B * T].view(B, T)
    targets = tokens[B * T: 2 * B * T].view(B, T)
    weights = torch.full((B * T,), 1.0 / (B * T))  # Σ w·ce = mean cross-entropy, as the other engines

    h = spec["hyper"]
    decay = {v["name"] for v in spec["layout"] if v["decay"]}
    named = dict(model.named_parameters())
    groups = [
        {"params": [p for n, p in named.items() if n in decay], "weight_decay": h["weightDecay"]},
        {"params": [p for n, p in named.items() if n not in decay], "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=h["lr"], betas=(h["beta1"], h["beta2"]), eps=h["eps"])
    params = list(model.parameters())
    setup_ms = (time.perf_counter() - setup_start) * 1000

    def step(read_loss):
        logits = model(inputs)
        ce = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), reduction="none")
        loss = (ce * weights).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if h["gradClip"] > 0:
            torch.nn.utils.clip_grad_norm_(params, h["gradClip"])
        opt.step()
        return loss.item() if read_loss else None

    # The protocol of bench/protocol.ts (CPU work is synchronous: no pipelined phase).
    start = time.perf_counter()
    spent_ms = lambda: (time.perf_counter() - start) * 1000  # noqa: E731
    budget = spec["budgetMs"]
    warmup_ms, warmup_losses, step_ms = [], [], []
    last_loss = float("nan")
    for _ in range(max(1, spec["warmupSteps"])):
        t0 = time.perf_counter()
        last_loss = step(True)
        warmup_ms.append((time.perf_counter() - t0) * 1000)
        warmup_losses.append(last_loss)
        if spent_ms() > budget / 2:
            break
    capped = False
    for i in range(spec["timedSteps"]):
        t0 = time.perf_counter()
        last_loss = step(True)
        step_ms.append((time.perf_counter() - t0) * 1000)
        if spent_ms() > budget and i + 1 < spec["timedSteps"]:
            capped = True
            break

    rss_after = rss_bytes()  # after the timed steps: parameters, grads, Adam state, cached activations
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    run = {
        "setupMs": setup_ms,
        "description": f"PyTorch {torch.__version__} CPU, 1 thread, BLAS {blas_description()}, Python {platform.python_version()}",
        "timings": {
            "warmupMs": warmup_ms,
            "stepMs": step_ms,
            "medianMs": median(step_ms),
            "pipelined": None,
            "pipelinedSkipped": "synchronous engine",
            "warmupLosses": warmup_losses,
            "lastLoss": last_loss,
            "capped": capped,
        },
        "memory": {
            "bytes": rss_after - rss_before,
            "kind": "process-rss-growth",
            "note": f"RSS {rss_before >> 20} MiB before the model (torch itself), {rss_after >> 20} MiB after the steps, "
                    f"peak {peak_kib >> 10} MiB",
        },
        "extra": {"torchThreads": torch.get_num_threads()},
    }
    print(json.dumps({"ok": True, "run": run}))


if __name__ == "__main__":
    main()
