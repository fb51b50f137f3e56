"""The PyTorch peer of `dagmoe bench --peer torch`: trains the reference model on synthetic tokens and
prints one JSON line with its speed.

    /usr/bin/python3 experiments/reference/peer_bench.py --config configs/peer-ref.json --aggregator dag \
        --steps 20 --warmup 3 --threads 2

By default (--impl fast) the model is peer_model.FastModel: the same model and step as the parity-tested
reference written for speed (flat parameter/gradient buffers, fused q|k|v and gate|up, one sort for the
dispatch, experts on contiguous rows or bmm over padded experts, foreach AdamW on the flat buffers; see
peer_model.py). --impl ref trains dagmoe_ref itself (the eager loop over experts with index gathers and
index_add_, torch.optim.AdamW over the separate tensors, torch.nn.utils.clip_grad_norm_). Both use
decoupled weight decay on the matrices (norms and embeddings excluded) and the warm-up + cosine schedule.
--profile N prints torch.profiler's per-op table of N more steps (to stderr). The JSON line also gives
the process's peak resident memory (VmHWM) and its resident memory before the model was built. Data: batch b of step s, position j is splitmix64(seed + (s*B + b)*(S+1) + j) mod V,
inputs the first S positions, targets the last S (the Java side generates the same tokens).
"""
import argparse
import json
import os
import re
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dagmoe_ref as ref  # noqa: E402
import peer_model  # noqa: E402

M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def splitmix64(x):
    """x uint64 array -> splitmix64 finaliser of x + golden gamma (java.util.SplittableRandom's mix64)."""
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def synthetic_batch(seed, step, B, S, V):
    idx = np.arange(B * (S + 1), dtype=np.uint64) + np.uint64(step * B * (S + 1)) + np.uint64(seed)
    tok = (splitmix64(idx) % np.uint64(V)).astype(np.int64).reshape(B, S + 1)
    t = torch.from_numpy(tok)
    return t[:, :S].contiguous(), t[:, 1:].contiguous()


def blas_in_use():
    """The BLAS library this process really loaded (from /proc/self/maps) and OpenBLAS settings."""
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1]
                if re.search(r"blas|mkl|blis", os.path.basename(path), re.I):
                    libs.add(os.path.realpath(path))
    except OSError:
        pass
    core = ""
    for lib in libs:  # OpenBLAS says which kernel set (core type) it picked
        try:
            import ctypes
            h = ctypes.CDLL(lib)
            h.openblas_get_corename.restype = ctypes.c_char_p
            h.openblas_get_config.restype = ctypes.c_char_p
            core = h.openblas_get_corename().decode() + " (" + h.openblas_get_config().decode().strip() + ")"
        except (OSError, AttributeError):
            pass
    cfg = torch.__config__.show()
    cap = re.search(r"CPU capability usage: (\S+)", cfg)
    return {
        "libraries": sorted(libs),
        "openblas_core": core,
        "openblas_coretype_env": os.environ.get("OPENBLAS_CORETYPE", ""),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""),
        "torch_blas_info": (re.search(r"BLAS_INFO=([^,]+)", cfg) or [None, ""])[1],
        "torch_cpu_capability": cap.group(1) if cap else "",
        "torch_threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
    }


def memory_kib():
    """VmRSS and VmHWM (peak resident set) of this process, KiB."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0])
    return out


def main():
    ap = argparse.ArgumentParser(description="PyTorch peer benchmark of a dagmoe config")
    ap.add_argument("--config", required=True)
    ap.add_argument("--aggregator", default=None, help="overrides model.aggregator")
    ap.add_argument("--steps", type=int, default=None, help="timed steps (default train.steps)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--impl", choices=("fast", "ref"), default="fast")
    ap.add_argument("--dispatch", choices=("sorted", "padded"), default="sorted",
                    help="fast impl: experts on contiguous sorted rows, or bmm over padded experts")
    ap.add_argument("--profile", type=int, default=0, help="steps to profile after the timed ones")
    a = ap.parse_args()
    rss_start = memory_kib()["VmRSS"]

    torch.set_num_threads(a.threads)
    with open(a.config) as f:
        j = json.load(f)
    m = dict(j["model"])
    if a.aggregator:
        m["aggregator"] = a.aggregator
    cfg = ref.Config(m)
    tj = j.get("train", {})
    tc = ref.TrainConfig(tj)
    B, S, V = int(tj.get("batch_size", 16)), cfg.seq_len, cfg.vocab_size
    seed = a.seed if a.seed is not None else int(tj.get("seed", 1))
    steps = a.steps if a.steps is not None else tc.steps
    tc.steps = a.warmup + steps

    if a.impl == "fast":
        model = peer_model.FastModel(cfg, tc, seed, dispatch=a.dispatch)
        n_params = model.numel()

        def step_fn(step, x, y):
            return model.train_step(x, y, ref.lr_at(step, tc))
    else:
        params = ref.init_params(cfg, seed=seed)
        decay = [p for n, p in params.items() if ref.decays(n, tc.decay_all)]
        no_decay = [p for n, p in params.items() if not ref.decays(n, tc.decay_all)]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": tc.weight_decay},
                                 {"params": no_decay, "weight_decay": 0.0}],
                                lr=tc.lr, betas=(tc.beta1, tc.beta2), eps=tc.eps)
        plist = list(params.values())
        n_params = sum(p.numel() for p in plist)

        def step_fn(step, x, y):
            for g in opt.param_groups:
                g["lr"] = ref.lr_at(step, tc)
            opt.zero_grad(set_to_none=True)
            out = ref.forward(params, cfg, x, y)
            out["loss"].backward()
            torch.nn.utils.clip_grad_norm_(plist, tc.grad_clip)
            opt.step()
            return out["loss"]

    losses, t0 = [], None
    for step in range(a.warmup + steps):
        if step == a.warmup:
            t0 = time.perf_counter()
        x, y = synthetic_batch(seed, step, B, S, V)
        losses.append(float(step_fn(step, x, y)))
    secs = time.perf_counter() - t0
    mem = memory_kib()
    if a.profile > 0:
        from torch.profiler import profile, ProfilerActivity
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for step in range(a.profile):
                x, y = synthetic_batch(seed, a.warmup + steps + step, B, S, V)
                step_fn(a.warmup + steps - 1, x, y)
        print(f"torch.profiler, {a.profile} steps ({a.impl}, {a.dispatch}, {cfg.aggregator}):", file=sys.stderr)
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=30), file=sys.stderr)
    print(json.dumps({
        "aggregator": cfg.aggregator, "steps": steps, "warmup": a.warmup, "batch": B, "seq": S,
        "seconds": secs, "tokens_per_second": steps * B * S / secs, "steps_per_second": steps / secs,
        "params": n_params, "first_loss": losses[0], "last_loss": losses[-1],
        "impl": a.impl, "dispatch": a.dispatch if a.impl == "fast" else "",
        "peak_rss_kib": mem["VmHWM"], "rss_before_model_kib": rss_start,
        "blas": blas_in_use(),
    }))


if __name__ == "__main__":
    main()
