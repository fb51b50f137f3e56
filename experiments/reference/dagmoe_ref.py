"""PyTorch reference of the dagmoe model (framework/MODEL.md), written for clarity.

One file, no dependencies beyond torch and numpy. Everything the Java side computes is here in its
plainest form: the parameters are a dict name -> tensor (names and layouts of the checkpoint
contract, linear weights [out, in]), the forward is a function of that dict, autograd gives the
gradients, and AdamW, the warm-up + cosine schedule and global-norm clipping are written out by
hand with the same formulas as dagmoe.optim.

Shapes: B batch, S sequence, T = B*S tokens, d model width, H heads, hd = d/H, V vocabulary,
N experts, K selected experts per token, de expert hidden, g structure width (dag.width).

Test-only switch: the environment variable DAGMOE_REF_MUTATE=edge_gate|injection changes the DAG
edge gate to sigmoid(a_i + b_i) or the injection h/K to h/(K+1) in this reference only, so that the
parity tests can show that they fail when one side is changed.
"""
import json
import math
import os
import struct
import zlib

import numpy as np
import torch
import torch.nn.functional as F

MUTATE = os.environ.get("DAGMOE_REF_MUTATE", "")

# ---------------------------------------------------------------------------------- safetensors

_DTYPES = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "I64": np.int64}


def load_safetensors(path):
    """name -> numpy array. Format: u64 LE header length, JSON header, raw little-endian data."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = _DTYPES.get(info["dtype"])
        if dtype is None:
            raise ValueError(f"{path}: tensor {name}: unsupported dtype {info['dtype']}")
        begin, end = info["data_offsets"]
        arr = np.frombuffer(raw[base + begin:base + end], dtype=np.dtype(dtype).newbyteorder("<"))
        out[name] = arr.reshape(info["shape"]).copy()
    return out


def save_safetensors(path, tensors, metadata=None):
    """tensors: name -> numpy array or torch tensor, written as F32 in sorted name order."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name]
        if isinstance(t, torch.Tensor):
            t = t.detach().cpu().numpy()
        a = np.ascontiguousarray(np.asarray(t, dtype="<f4"))
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)  # pad so the data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


# ---------------------------------------------------------------------------------- config

class Config:
    """The "model" section of a dagmoe config (snake_case keys, nested router/dag/shared/mlp_mix/chain)."""

    def __init__(self, m):
        def get(path, default=None):
            node = m
            for key in path.split("."):
                if not isinstance(node, dict) or key not in node:
                    return default
                node = node[key]
            return node

        self.vocab_size = int(get("vocab_size"))
        self.d_model = int(get("d_model"))
        self.n_layers = int(get("n_layers"))
        self.n_heads = int(get("n_heads"))
        self.seq_len = int(get("seq_len"))
        self.n_experts = int(get("n_experts"))
        self.top_k = int(get("top_k"))
        self.expert_hidden = int(get("expert_hidden"))
        self.moe_every = int(get("moe_every", 1))
        self.tie_embeddings = bool(get("tie_embeddings", False))
        self.rope_theta = float(get("rope_theta", 10000.0))
        self.norm_eps = float(get("norm_eps", 1e-5))
        self.init_std = float(get("init_std", 0.02))
        self.aggregator = str(get("aggregator", "sum"))
        self.normalize_topk = bool(get("router.normalize_topk", True))
        self.balance_coef = float(get("router.balance_coef", 0.01))
        self.z_loss_coef = float(get("router.z_loss_coef", 0.001))
        self.dag_rounds = int(get("dag.rounds", 2))
        self.dag_width = int(get("dag.width", 64))
        self.dag_residual = str(get("dag.residual", "injected"))
        self.dag_inject = bool(get("dag.inject", True))
        self.dag_inject_divide = bool(get("dag.inject_divide", True))
        self.shared_hidden = int(get("shared.hidden", 0))
        self.mix_width = int(get("mlp_mix.width", 64))
        self.chain_rounds = int(get("chain.rounds", 2))

    @staticmethod
    def load(path):
        with open(path) as f:
            j = json.load(f)
        return Config(j["model"] if "model" in j else j)


def is_moe_block(params, l):
    """A block is MoE when the checkpoint has its router (moe_every decides which blocks; the
    checkpoint written by the Java model is the authority, and the parity test checks the count)."""
    return f"layers.{l}.moe.router" in params


def moe_layers_expected(cfg):
    """Blocks that are MoE under moe_every = n: every n-th block, counting from 1 (l % n == n-1).
    Only used to create fresh parameters (peer benchmark); loaded checkpoints name their blocks."""
    return [l for l in range(cfg.n_layers) if l % cfg.moe_every == cfg.moe_every - 1]


# ---------------------------------------------------------------------------------- layers

def rmsnorm(x, w, eps):
    # x [..., d], w [d]: y = x / sqrt(mean(x^2) + eps) * w
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def linear(x, w):
    # x [..., in], w [out, in] -> [..., out]
    return x @ w.t()


_ROPE_CACHE = {}


def rope_tables(S, hd, theta, dtype):
    """cos, sin [S, hd/2] of the angles pos * theta^(-2i/hd) (computed in double, cached)."""
    key = (S, hd, theta, dtype)
    if key not in _ROPE_CACHE:
        i = torch.arange(hd // 2, dtype=torch.float64)
        ang = torch.arange(S, dtype=torch.float64)[:, None] * theta ** (-2.0 * i / hd)
        _ROPE_CACHE[key] = (torch.cos(ang).to(dtype), torch.sin(ang).to(dtype))
    return _ROPE_CACHE[key]


def rope(x, theta):
    # x [B, S, H, hd]; interleaved pairs (x[2i], x[2i+1]) rotated by pos * theta^(-2i/hd), pos = s.
    B, S, H, hd = x.shape
    cos, sin = rope_tables(S, hd, theta, x.dtype)
    cos, sin = cos[None, :, None, :], sin[None, :, None, :]
    xp = x.reshape(B, S, H, hd // 2, 2)
    x0, x1 = xp[..., 0], xp[..., 1]
    return torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1).reshape(B, S, H, hd)


def attention(x, p, pre, cfg):
    # x [B, S, d] (already normalised) -> [B, S, d]
    B, S, d = x.shape
    H = cfg.n_heads
    hd = d // H
    q = linear(x, p[pre + "attn.wq"]).view(B, S, H, hd)
    k = linear(x, p[pre + "attn.wk"]).view(B, S, H, hd)
    v = linear(x, p[pre + "attn.wv"]).view(B, S, H, hd)
    q, k = rope(q, cfg.rope_theta), rope(k, cfg.rope_theta)
    q, k, v = (t.transpose(1, 2) for t in (q, k, v))               # [B, H, S, hd]
    scores = (q @ k.transpose(-1, -2)) / math.sqrt(hd)            # [B, H, S, S]
    causal = torch.ones(S, S, dtype=torch.bool).triu(1)
    probs = torch.softmax(scores.masked_fill(causal, float("-inf")), dim=-1)
    out = (probs @ v).transpose(1, 2).reshape(B, S, d)
    return linear(out, p[pre + "attn.wo"])


def swiglu(x, w_gate, w_up, w_down):
    # E(x) = w_down( silu(w_gate x) * (w_up x) ); x [M, d], w_gate/w_up [de, d], w_down [d, de]
    return linear(F.silu(linear(x, w_gate)) * linear(x, w_up), w_down)


def route(x, w_router, cfg):
    """x [T, d] -> router logits [T, N], probs [T, N], top indices [T, K], gates [T, K].
    Top-K by probability, descending, ties to the lower expert index (stable sort)."""
    logits = linear(x, w_router)
    probs = torch.softmax(logits, dim=-1)
    top = torch.sort(probs.detach(), dim=-1, descending=True, stable=True).indices[:, :cfg.top_k]
    gates = probs.gather(1, top)
    if cfg.normalize_topk:
        gates = gates / gates.sum(-1, keepdim=True)
    return logits, probs, top, gates


def router_aux(logits, probs, top, cfg):
    """Switch balance loss alpha*N*sum_e f_e P_e (f_e constant) and z-loss beta*mean_t lse^2."""
    T, N = probs.shape
    K = top.shape[1]
    counts = torch.bincount(top.reshape(-1), minlength=N).to(probs.dtype)
    f = (counts / (T * K)).detach()
    P = probs.mean(0)
    balance = cfg.balance_coef * N * (f * P).sum()
    z = cfg.z_loss_coef * torch.logsumexp(logits, dim=-1).pow(2).mean()
    return balance, z


def experts_forward(x, top, p, pre):
    """Y[T, K, d]: Y[t, i] = E_{top[t,i]}(x[t]). The usual eager loop over experts: gather the slots
    routed to expert e, run it once on them, scatter back."""
    T, d = x.shape
    K = top.shape[1]
    w_gate, w_up, w_down = (p[pre + "experts." + n] for n in ("w_gate", "w_up", "w_down"))
    flat = top.reshape(-1)                                        # slot s = t*K + i
    Y = x.new_zeros(T * K, d)
    for e in range(w_gate.shape[0]):
        slots = (flat == e).nonzero(as_tuple=True)[0]
        if slots.numel() == 0:
            continue
        ye = swiglu(x[slots // K], w_gate[e], w_up[e], w_down[e])
        Y.index_add_(0, slots, ye)
    return Y.view(T, K, d)


def moe_forward(h, p, l, cfg, aux):
    """The MoE sub-block: h [T, d] (sub-block input) -> h' [T, d]. Appends (balance, z) per router to aux."""
    pre = f"layers.{l}.moe."
    K = cfg.top_k
    x = rmsnorm(h, p[f"layers.{l}.ffn_norm"], cfg.norm_eps)
    agg = cfg.aggregator

    if agg == "chain":
        xr = x
        for r in range(cfg.chain_rounds):
            w_router = p[pre + "router"] if r == 0 else p[pre + f"chain.{r}.router"]
            logits, probs, top, gates = route(xr, w_router, cfg)
            aux.append(router_aux(logits, probs, top, cfg))
            Y = experts_forward(xr, top, p, pre)
            xr = xr + (gates[..., None] * Y).sum(1)
        return h + (xr - x)

    logits, probs, top, gates = route(x, p[pre + "router"], cfg)
    aux.append(router_aux(logits, probs, top, cfg))
    Y = experts_forward(x, top, p, pre)
    gY = gates[..., None] * Y                                     # [T, K, d] gated expert outputs

    if agg == "sum":
        return h + gY.sum(1)
    if agg == "shared":
        S = swiglu(x, p[pre + "shared.w_gate"], p[pre + "shared.w_up"], p[pre + "shared.w_down"])
        return h + gY.sum(1) + S
    if agg == "mlp-mix":
        T, _, d = gY.shape
        mix = linear(F.gelu(linear(gY.reshape(T, K * d), p[pre + "mix.w_down"]), approximate="tanh"),
                     p[pre + "mix.w_up"])
        return h + gY.sum(1) + mix
    if agg == "dag":
        return dag_forward(h, x, gY, p, pre, cfg)
    raise ValueError(f"model.aggregator = {agg}: unknown")


def dag_forward(h, x, gY, p, pre, cfg):
    """DAG-MoE aggregation. Nodes x_i [T, K, d], L rounds of message passing with edge gates."""
    K = cfg.top_k
    outer = cfg.dag_residual == "outer"
    if cfg.dag_residual not in ("injected", "outer"):
        raise ValueError(f"model.dag.residual = {cfg.dag_residual}: must be injected or outer")
    nodes = gY
    if cfg.dag_inject:
        share = K + 1 if MUTATE == "injection" else (K if cfg.dag_inject_divide else 1)
        base = x if outer else h
        nodes = nodes + base[:, None, :] / share                 # x_i^0 = g_i Y_i + h/K (or x/K)
    for r in range(cfg.dag_rounds):
        q = f"{pre}dag.{r}."
        u = rmsnorm(nodes, p[q + "norm"], cfg.norm_eps)          # [T, K, d]
        z = linear(u, p[q + "w_down"])                            # [T, K, g]
        a, b, c, e = (linear(z, p[q + n]) for n in ("a", "b", "c", "d"))
        if MUTATE == "edge_gate":
            gate = torch.sigmoid(a + b)[:, :, None, :].expand(-1, -1, K, -1)
        else:
            gate = torch.sigmoid(a[:, :, None, :] + b[:, None, :, :])  # [T, i, j, g]
        msg = c[:, :, None, :] + e[:, None, :, :]                 # [T, i, j, g]
        nodes = nodes + linear((gate * msg).sum(2), p[q + "w_up"])
    out = nodes.sum(1)
    return h + out if outer else out


def dense_forward(h, p, l, cfg):
    x = rmsnorm(h, p[f"layers.{l}.ffn_norm"], cfg.norm_eps)
    pre = f"layers.{l}.ffn."
    return h + swiglu(x, p[pre + "w_gate"], p[pre + "w_up"], p[pre + "w_down"])


def forward(p, cfg, inputs, targets=None):
    """inputs, targets [B, S] int64 -> dict(logits [B*S, V], lm, balance, z, loss)."""
    B, S = inputs.shape
    h = p["tok_emb"][inputs]                                      # [B, S, d]
    aux = []
    for l in range(cfg.n_layers):
        pre = f"layers.{l}."
        h = h + attention(rmsnorm(h, p[pre + "attn_norm"], cfg.norm_eps), p, pre, cfg)
        flat = h.reshape(B * S, -1)
        flat = moe_forward(flat, p, l, cfg, aux) if is_moe_block(p, l) else dense_forward(flat, p, l, cfg)
        h = flat.view(B, S, -1)
    head = p["tok_emb"] if cfg.tie_embeddings else p["lm_head"]
    logits = linear(rmsnorm(h, p["final_norm"], cfg.norm_eps), head).reshape(B * S, -1)
    zero = logits.new_zeros(())
    balance = sum((a[0] for a in aux), zero)
    zl = sum((a[1] for a in aux), zero)
    out = {"logits": logits, "balance": balance, "z": zl}
    if targets is not None:
        out["lm"] = cross_entropy(logits, targets.reshape(-1))
        out["loss"] = out["lm"] + balance + zl
    return out


def cross_entropy(logits, targets):
    """Mean cross-entropy over the rows whose target is >= 0 (negative targets are ignored)."""
    keep = targets >= 0
    return F.cross_entropy(logits[keep], targets[keep], reduction="mean")


# ---------------------------------------------------------------------------------- parameters

def decays(name, decay_all=False):
    """Weight decay applies to matrices; norms and embeddings are excluded unless decay_all.
    (lm_head is a linear weight and decays; with tied embeddings tok_emb is the head and does not.)"""
    if decay_all:
        return True
    return not (name == "tok_emb" or name.endswith("norm"))


def init_params(cfg, seed=0, dtype=torch.float32):
    """Fresh parameters with the contract's shapes and init (used by the peer benchmark only; the
    parity tests load the Java model's weights)."""
    d, V, N, de, K, g = cfg.d_model, cfg.vocab_size, cfg.n_experts, cfg.expert_hidden, cfg.top_k, cfg.dag_width
    std, out_std = cfg.init_std, cfg.init_std / math.sqrt(2 * cfg.n_layers)
    shapes = {"tok_emb": ([V, d], std)}
    moe = set(moe_layers_expected(cfg))
    for l in range(cfg.n_layers):
        pre = f"layers.{l}."
        shapes[pre + "attn_norm"] = ([d], None)
        for n in ("wq", "wk", "wv"):
            shapes[pre + "attn." + n] = ([d, d], std)
        shapes[pre + "attn.wo"] = ([d, d], out_std)
        shapes[pre + "ffn_norm"] = ([d], None)
        if l not in moe:
            shapes[pre + "ffn.w_gate"] = ([de, d], std)
            shapes[pre + "ffn.w_up"] = ([de, d], std)
            shapes[pre + "ffn.w_down"] = ([d, de], out_std)
            continue
        m = pre + "moe."
        shapes[m + "router"] = ([N, d], std)
        shapes[m + "experts.w_gate"] = ([N, de, d], std)
        shapes[m + "experts.w_up"] = ([N, de, d], std)
        shapes[m + "experts.w_down"] = ([N, d, de], out_std)
        if cfg.aggregator == "dag":
            for r in range(cfg.dag_rounds):
                q = f"{m}dag.{r}."
                shapes[q + "norm"] = ([d], None)
                shapes[q + "w_down"] = ([g, d], std)
                for n in ("a", "b", "c", "d"):
                    shapes[q + n] = ([g, g], std)
                shapes[q + "w_up"] = ([d, g], 0.0)
        elif cfg.aggregator == "shared":
            dr = cfg.shared_hidden or max(1, round(cfg.dag_rounds * (2 * d * g + 4 * g * g + d) / (3 * d)))
            shapes[m + "shared.w_gate"] = ([dr, d], std)
            shapes[m + "shared.w_up"] = ([dr, d], std)
            shapes[m + "shared.w_down"] = ([d, dr], std)
        elif cfg.aggregator == "mlp-mix":
            shapes[m + "mix.w_down"] = ([cfg.mix_width, K * d], std)
            shapes[m + "mix.w_up"] = ([d, cfg.mix_width], 0.0)
        elif cfg.aggregator == "chain":
            for r in range(1, cfg.chain_rounds):
                shapes[f"{m}chain.{r}.router"] = ([N, d], std)
    shapes["final_norm"] = ([d], None)
    if not cfg.tie_embeddings:
        shapes["lm_head"] = ([V, d], std)
    p = {}
    for name, (shape, s) in shapes.items():
        if s is None:
            t = torch.ones(shape, dtype=dtype)
        elif s == 0.0:
            t = torch.zeros(shape, dtype=dtype)
        else:
            # one generator per parameter, seeded from its name: the same name gets the same values
            # whatever the aggregator (so dag at init equals sum from the same seed)
            gen = torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(name.encode()))
            t = torch.randn(shape, generator=gen, dtype=dtype) * s
        p[name] = t.requires_grad_(True)
    return p


# ---------------------------------------------------------------------------------- optimisation

class TrainConfig:
    """The "train" section keys the optimiser needs (same names as the dagmoe config)."""

    def __init__(self, t):
        self.lr = float(t.get("lr", 3e-4))
        self.min_lr = float(t.get("min_lr", 0.0))
        self.warmup_steps = int(t.get("warmup_steps", 0))
        self.steps = int(t.get("steps", 10))
        self.beta1 = float(t.get("beta1", 0.9))
        self.beta2 = float(t.get("beta2", 0.95))
        self.eps = float(t.get("eps", 1e-8))
        self.weight_decay = float(t.get("weight_decay", 0.1))
        self.grad_clip = float(t.get("grad_clip", 1.0))
        self.decay_all = bool(t.get("decay_all", False))


def lr_at(step, tc):
    """Learning rate of optimizer step `step` (0-based): linear warm-up to lr over warmup_steps
    (step+1)/warmup, then cosine from lr to min_lr over the remaining steps (same formula as
    dagmoe.optim.LrSchedule)."""
    if tc.warmup_steps > 0 and step < tc.warmup_steps:
        return tc.lr * (step + 1) / tc.warmup_steps
    span = max(1, tc.steps - tc.warmup_steps)
    progress = min(1.0, (step - tc.warmup_steps) / span)
    return tc.min_lr + 0.5 * (tc.lr - tc.min_lr) * (1.0 + math.cos(math.pi * progress))


def clip_grad_norm(grads, max_norm):
    """Global L2 norm over all gradients (in double); scale by max_norm/norm when norm > max_norm."""
    norm = math.sqrt(sum(float((g.double() ** 2).sum()) for g in grads))
    if max_norm > 0 and norm > max_norm:
        s = max_norm / norm
        for g in grads:
            g.mul_(s)
    return norm


class AdamW:
    """m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
    p -= lr * ((m/bc1) / (sqrt(v/bc2) + eps) + wd * p), bc = 1 - beta^t (the Backend.adamw formula)."""

    def __init__(self, params, tc):
        self.params, self.tc, self.t = params, tc, 0
        self.m = {n: torch.zeros_like(v) for n, v in params.items()}
        self.v = {n: torch.zeros_like(v) for n, v in params.items()}

    @torch.no_grad()
    def step(self, lr):
        tc = self.tc
        self.t += 1
        bc1 = 1.0 - tc.beta1 ** self.t
        bc2 = 1.0 - tc.beta2 ** self.t
        for n, p in self.params.items():
            g = p.grad if p.grad is not None else torch.zeros_like(p)
            m, v = self.m[n], self.v[n]
            m.mul_(tc.beta1).add_(g, alpha=1.0 - tc.beta1)
            v.mul_(tc.beta2).addcmul_(g, g, value=1.0 - tc.beta2)
            wd = tc.weight_decay if decays(n, tc.decay_all) else 0.0
            p.sub_(lr * ((m / bc1) / ((v / bc2).sqrt() + tc.eps) + wd * p))


def train_step(p, cfg, tc, opt, step, inputs, targets):
    """One optimizer step: forward, backward of LM + balance + z, clip, AdamW. Returns the losses."""
    for t in p.values():
        t.grad = None
    out = forward(p, cfg, inputs, targets)
    out["loss"].backward()
    grads = [t.grad for t in p.values() if t.grad is not None]
    norm = clip_grad_norm(grads, tc.grad_clip)
    opt.step(lr_at(step, tc))
    return {k: float(out[k]) for k in ("loss", "lm", "balance", "z")} | {"grad_norm": norm}
