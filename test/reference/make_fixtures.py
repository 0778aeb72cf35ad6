"""Write the engine's PyTorch parity fixtures.

Run with Debian's python3-torch (1.13):  /usr/bin/python3 test/reference/make_fixtures.py
Writes test/reference/fixtures/<name>.json for each config below. Each fixture
holds the config, the batch (inputs, targets, per-token weights), the initial
parameters, the logits, loss and per-sequence losses, every parameter
gradient, and the losses of 10 AdamW steps (clip 1.0, warmup + cosine lr).

Everything is computed in float64 from float32-representable parameters and
stored as float32 (base64, little-endian), so the fixture is the exact answer
the float32 engine approximates. Fixtures are committed; CI does not need torch.
"""
import base64
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpt_reference import GPT, lr_at, param_groups, weighted_loss  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

CASES = [
    # Uniform weights 1/(B*T): ordinary mean cross-entropy.
    dict(name="tiny", seed=1, B=2, T=8, weights="mean",
         model=dict(vocabSize=29, contextLength=8, dModel=16, nLayers=2, nHeads=2)),
    # T shorter than the context, odd sizes, masked (0) and negative weights.
    dict(name="small", seed=2, B=3, T=11, weights="mixed",
         model=dict(vocabSize=53, contextLength=16, dModel=24, nLayers=3, nHeads=4)),
]

OPTIM = dict(learningRate=1e-2, minLrRatio=0.1, warmupSteps=3, totalSteps=10,
             weightDecay=0.1, beta1=0.9, beta2=0.95, eps=1e-8, gradClip=1.0)
STEPS = 10


def b64(t: torch.Tensor) -> str:
    return base64.b64encode(t.detach().to(torch.float32).contiguous().numpy().tobytes()).decode()


def make(case: dict) -> dict:
    torch.manual_seed(case["seed"])
    cfg = case["model"]
    B, T = case["B"], case["T"]
    model = GPT.from_config(cfg)
    with torch.no_grad():  # random LayerNorm affine too, so their gradients are exercised
        for name, p in model.named_parameters():
            p.copy_((torch.randn_like(p) * (0.3 if "ln_" in name else 0.1) + (1.0 if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or name.endswith("ln_f.weight") else 0.0)).to(torch.float32))
    model = model.double()
    inputs = torch.randint(0, cfg["vocabSize"], (B, T))
    targets = torch.randint(0, cfg["vocabSize"], (B, T))
    if case["weights"] == "mean":
        weights = torch.full((B, T), 1.0 / (B * T), dtype=torch.float64)
    else:
        weights = (torch.rand(B, T, dtype=torch.float64) * 0.2).to(torch.float32).double()
        weights[0, :3] = 0.0  # masked prompt tokens
        weights[1, 5:] = -0.05  # a negative (score-function) weight
    params0 = {n: p.detach().clone() for n, p in model.named_parameters()}

    logits = model(inputs)
    loss, per_seq = weighted_loss(logits, targets, weights)
    loss.backward()
    grads = {n: b64(p.grad) for n, p in model.named_parameters()}

    # 10 AdamW steps on the same batch, lr from the schedule, clipped gradients.
    model.zero_grad()
    opt = torch.optim.AdamW(param_groups(model, OPTIM["weightDecay"]), lr=OPTIM["learningRate"],
                            betas=(OPTIM["beta1"], OPTIM["beta2"]), eps=OPTIM["eps"])
    step_losses, grad_norms = [], []
    for step in range(STEPS):
        for g in opt.param_groups:
            g["lr"] = lr_at(step, OPTIM)
        opt.zero_grad()
        l, _ = weighted_loss(model(inputs), targets, weights)
        l.backward()
        grad_norms.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(), OPTIM["gradClip"])))
        opt.step()
        step_losses.append(float(l))

    return {
        "source": "test/reference/make_fixtures.py, PyTorch " + torch.__version__ + " float64",
        "name": case["name"],
        "config": cfg,
        "optim": OPTIM,
        "B": B, "T": T,
        "inputs": inputs.flatten().tolist(),
        "targets": targets.flatten().tolist(),
        "weights": b64(weights),
        "params": {n: b64(p) for n, p in params0.items()},
        "logits": b64(logits),
        "loss": float(loss),
        "perSeqLoss": per_seq.tolist(),
        "grads": grads,
        "stepLosses": step_losses,
        "gradNorms": grad_norms,
        "paramsAfter": {n: b64(p) for n, p in model.named_parameters()},
    }


if __name__ == "__main__":
    torch.set_num_threads(1)
    for case in CASES:
        path = os.path.join(HERE, "fixtures", case["name"] + ".json")
        with open(path, "w") as f:
            json.dump(make(case), f)
        print(f"wrote {path} ({os.path.getsize(path)} bytes)")
