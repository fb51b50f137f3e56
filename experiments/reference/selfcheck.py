"""Sanity checks of the reference itself (run: /usr/bin/python3 experiments/reference/selfcheck.py).
dag with W_up = 0 equals sum; chain with R = 1 equals sum; the safetensors round trip; the fast peer model
(peer_model.py) computes the reference's loss and gradients."""
import os
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dagmoe_ref as ref  # noqa: E402
import peer_model  # noqa: E402


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
    for agg in ("sum", "dag", "shared", "mlp-mix"):
        for dispatch in ("sorted", "padded"):
            err = fast_vs_ref(agg, dispatch, x, y)
            print(f"fast peer model {agg:8s} {dispatch}: loss and gradients match the reference (max rel {err:.1e})")


def fast_vs_ref(agg, dispatch, x, y):
    """Float64: FastModel started from the reference's parameters (zero-initialised matrices made random, so
    the dag and mix paths count) gives the same loss and, mapped back to reference names, gradients."""
    c = cfg(agg)
    p = ref.init_params(c, seed=3, dtype=torch.float64)
    gen = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for n, t in p.items():
            if not t.any():
                t.copy_(torch.randn(t.shape, generator=gen, dtype=t.dtype) * 0.1)
    tc = ref.TrainConfig({})
    fast = peer_model.FastModel(c, tc, seed=3, dispatch=dispatch, dtype=torch.float64, params=p)
    out = ref.forward(p, c, x, y)
    out["loss"].backward()
    loss, _ = fast.forward(x, y)
    loss.backward()
    assert abs(loss.item() - out["loss"].item()) < 1e-10, f"{agg}/{dispatch}: loss {loss.item()} vs {out['loss'].item()}"
    worst = 0.0
    for n, t in p.items():
        g = fast_grad(fast, n, c)
        assert g.shape == t.grad.shape, f"{n}: {g.shape} vs {t.grad.shape}"
        err = ((g - t.grad).abs().max() / t.grad.abs().max().clamp(min=1e-30)).item()
        assert err < 1e-9, f"{agg}/{dispatch}: gradient of {n} differs (rel {err:.1e})"
        worst = max(worst, err)
    return worst


def fast_grad(fast, name, c):
    """The fast model's gradient of reference parameter `name` (un-fusing q|k|v, gate|up, a|b|c|d and experts)."""
    g = {n: t.grad for n, t in fast.params.items()}
    d, de, gw = c.d_model, c.expert_hidden, c.dag_width
    head, _, last = name.rpartition(".")
    if last in ("wq", "wk", "wv"):
        return g[head + ".wqkv"][("wq", "wk", "wv").index(last) * d:][:d]
    if last in ("a", "b", "c", "d") and ".dag." in name:
        return g[head + ".w4"][("a", "b", "c", "d").index(last) * gw:][:gw]
    if ".experts." in name:
        if fast.dispatch == "padded":
            if last == "w_down":
                return g[name]
            gu = g[head + ".w_gu"]
            return gu[:, :de] if last == "w_gate" else gu[:, de:]
        per = [g[f"{head}.{e}.{'w_down' if last == 'w_down' else 'w_gu'}"] for e in range(c.n_experts)]
        if last == "w_down":
            return torch.stack(per)
        return torch.stack([t[:de] if last == "w_gate" else t[de:] for t in per])
    if last in ("w_gate", "w_up") and (head.endswith(".ffn") or head.endswith(".shared")):
        gu = g[head + ".w_gu"]
        h = gu.shape[0] // 2
        return gu[:h] if last == "w_gate" else gu[h:]
    return g[name]


if __name__ == "__main__":
    main()
