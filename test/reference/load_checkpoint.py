"""Load a Symbiosis Lab checkpoint (safetensors) into the PyTorch reference GPT and print its logits.

Run with Debian's python3-torch (1.13):
    /usr/bin/python3 test/reference/load_checkpoint.py CHECKPOINT.safetensors '[[1, 2, 3], [4, 5, 6]]'

The tokens are a JSON list of B rows of T ids. Prints one JSON object:
    {"reader": "safetensors" | "builtin", "config": {...}, "shape": [B, T, V], "logits": [...]}
with the logits flattened row-major, computed in float64 from the file's
float32 parameters (so they are the exact answer the float32 engine approximates).

The file is read with the `safetensors` package when it is importable, else
with the small reader below (json + struct + torch.frombuffer), which follows
the format: u64 little-endian header length N, N bytes of JSON header, data.
Parameters are loaded with load_state_dict(strict=True), so a name or shape
that does not match the reference model fails here, not silently.
"""
import json
import os
import struct
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpt_reference import GPT  # noqa: E402

FORMAT = "symbiosis-lab/checkpoint"


def read_builtin(path):
    """(tensors by name, metadata) of a safetensors file, without the safetensors package."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {})
    start = 8 + n
    tensors = {}
    for name, entry in header.items():
        if entry["dtype"] != "F32":
            raise ValueError(f"{name}: dtype {entry['dtype']}, expected F32")
        begin, end = entry["data_offsets"]
        # bytearray: torch.frombuffer wants a writable buffer; this copies the slice.
        flat = torch.frombuffer(bytearray(data[start + begin:start + end]), dtype=torch.float32)
        tensors[name] = flat.reshape(entry["shape"])
    return tensors, metadata


def read_checkpoint(path):
    """(tensors, metadata, reader name), preferring the safetensors package."""
    try:
        from safetensors import safe_open
    except ImportError:
        tensors, metadata = read_builtin(path)
        return tensors, metadata, "builtin"
    with safe_open(path, framework="pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, f.metadata() or {}, "safetensors"


def main():
    if len(sys.argv) != 3:
        sys.exit(f"usage: {sys.argv[0]} CHECKPOINT.safetensors TOKENS_JSON")
    tensors, metadata, reader = read_checkpoint(sys.argv[1])
    if metadata.get("format") != FORMAT:
        sys.exit(f"not a Symbiosis Lab checkpoint: __metadata__.format = {metadata.get('format')!r}")
    config = json.loads(metadata["config"])
    model = GPT.from_config(config)
    params = {k: v for k, v in tensors.items() if not k.startswith("optimizer.")}
    model.load_state_dict(params, strict=True)
    model = model.double().eval()

    tokens = torch.tensor(json.loads(sys.argv[2]), dtype=torch.long)  # (B, T)
    with torch.no_grad():
        logits = model(tokens)  # (B, T, V)
    print(json.dumps({
        "reader": reader,
        "config": config,
        "shape": list(logits.shape),
        "logits": logits.reshape(-1).tolist(),
    }))


if __name__ == "__main__":
    main()
