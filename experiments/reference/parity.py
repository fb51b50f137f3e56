"""Parity run of the PyTorch reference against a dagmoe checkpoint.

    /usr/bin/python3 experiments/reference/parity.py --checkpoint model.safetensors --config config.json \
        --batch batch.json --train-config train.json --steps 10 --out out.safetensors

or several runs in one process (saves the torch import per run):

    /usr/bin/python3 experiments/reference/parity.py --jobs jobs.json

where jobs.json is a list of objects with the keys checkpoint, config, batch, train_config, steps, out.

Inputs: the checkpoint holds the model's F32 tensors under the contract's names; config.json holds the
"model" section (or a whole dagmoe config); batch.json is {"batch": B, "seq": S, "inputs": [B*S ints],
"targets": [B*S ints]}; train.json holds the "train" keys lr, min_lr, warmup_steps, steps, beta1, beta2,
eps, weight_decay, grad_clip, decay_all.

Output (F32 safetensors): logits [T, V]; lm, balance, z, loss (shape [1]) of the first forward;
grad.<name> the gradient of LM + balance + z with respect to every parameter (before clipping);
after.<name> every parameter after `steps` optimizer steps (clip, schedule, AdamW) on the same batch;
losses, lm_losses, balance_losses, z_losses, grad_norms [steps] per step (before its update);
decay.<name> [1]: 1 when AdamW decays the parameter (the reference's rule, for the test to compare).
A job may carry "mutate": "edge_gate" | "injection" (the test-only switch of dagmoe_ref).
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dagmoe_ref as ref  # noqa: E402


def run(checkpoint, config, batch, train_config, steps, out, dtype="float32", mutate=None):
    if mutate is not None:  # test-only: the same switch as DAGMOE_REF_MUTATE, per job
        ref.MUTATE = mutate
    torch.manual_seed(0)
    dt = {"float32": torch.float32, "float64": torch.float64}[dtype]
    cfg = ref.Config.load(config)
    with open(batch) as f:
        b = json.load(f)
    with open(train_config) as f:
        tj = json.load(f)
    tc = ref.TrainConfig(tj.get("train", tj))
    B, S = int(b["batch"]), int(b["seq"])
    inputs = torch.tensor(b["inputs"], dtype=torch.int64).view(B, S)
    targets = torch.tensor(b["targets"], dtype=torch.int64).view(B, S)

    params = {n: torch.tensor(a, dtype=dt).requires_grad_(True)
              for n, a in ref.load_safetensors(checkpoint).items()}
    result = {}

    # first forward and backward: logits, the three losses, every gradient
    first = ref.forward(params, cfg, inputs, targets)
    first["loss"].backward()
    result["logits"] = first["logits"].detach()
    for k in ("lm", "balance", "z", "loss"):
        result[k] = first[k].detach().reshape(1)
    for n, t in params.items():
        result["grad." + n] = t.grad if t.grad is not None else torch.zeros_like(t)
        t.grad = None

    # `steps` optimizer steps on the same batch
    opt = ref.AdamW(params, tc)
    hist = {"losses": [], "lm_losses": [], "balance_losses": [], "z_losses": [], "grad_norms": []}
    for step in range(steps):
        s = ref.train_step(params, cfg, tc, opt, step, inputs, targets)
        for key, k in (("losses", "loss"), ("lm_losses", "lm"), ("balance_losses", "balance"),
                       ("z_losses", "z"), ("grad_norms", "grad_norm")):
            hist[key].append(s[k])
    for n, t in params.items():
        result["after." + n] = t.detach()
        result["decay." + n] = np.asarray([1.0 if ref.decays(n, tc.decay_all) else 0.0])
    for k, v in hist.items():
        result[k] = np.asarray(v, dtype=np.float64)
    ref.save_safetensors(out, result, {"mutate": ref.MUTATE or "none", "dtype": dtype})


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint")
    ap.add_argument("--config")
    ap.add_argument("--batch")
    ap.add_argument("--train-config")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--out")
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--jobs", help="JSON list of runs (keys checkpoint, config, batch, train_config, steps, out)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    if a.jobs:
        with open(a.jobs) as f:
            jobs = json.load(f)
        for j in jobs:
            run(j["checkpoint"], j["config"], j["batch"], j["train_config"], int(j.get("steps", 10)), j["out"],
                j.get("dtype", a.dtype), j.get("mutate", os.environ.get("DAGMOE_REF_MUTATE", "")))
        return
    missing = [k for k in ("checkpoint", "config", "batch", "train_config", "out") if getattr(a, k) is None]
    if missing:
        ap.error("missing --" + ", --".join(m.replace("_", "-") for m in missing))
    run(a.checkpoint, a.config, a.batch, a.train_config, a.steps, a.out, a.dtype)


if __name__ == "__main__":
    main()
