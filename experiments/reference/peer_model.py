"""The fast PyTorch implementation of the dagmoe model that `dagmoe bench --peer torch` races.

dagmoe_ref.py is written for clarity (it is the parity reference); this file is the same model and
training step written for speed, the way a careful PyTorch user would on a CPU:

- every parameter is its own leaf tensor whose storage is a view into ONE flat buffer per weight-decay
  group, and every gradient a view into one flat gradient buffer: zeroing the gradients, the global
  norm, clipping and AdamW each run over two big tensors, not over a hundred small ones; AdamW is
  torch.optim.AdamW's update written with in-place operations into buffers allocated once (FlatAdamW: the
  same bits, without the two buffer-sized temporaries per step of the foreach version); autograd
  accumulates in place into the gradient views;
- fused q|k|v projection (one [3d, d] matrix), rotary embedding as one complex multiply of q|k together,
  causal attention as baddbmm(mask, q, kᵀ) + softmax + bmm over all heads;
- experts: gate|up fused into one [2de, d] matrix per expert; dropless dispatch by ONE stable sort of the
  T·K slots by expert; each expert then runs on its contiguous rows (`sorted`, per-expert leaf weights,
  so the backward writes each expert's gradient directly), or all experts at once as bmm over rows padded
  to the busiest expert (`padded`); the combine is one index_add_ (sum) or one gather back to slot order
  (other aggregators);
- the DAG: a|b|c|d fused into one [4g, g] matrix; the K×K pairwise edge messages
  Σ_j σ(a_i + b_j)·(c_i + e_j) as one autograd Function that works over chunks of tokens with in-place
  broadcast ops and recomputes the gates in its backward (about 1.9x faster at K = 8 and 1.15x at K = 2 than
  the same broadcast expression left to autograd, which keeps four [T, K, K, g] tensors for the backward);
- router, balance and z-loss, cross-entropy: vectorised torch ops, no Python loop over tokens (the only
  Python loops are over layers, experts and DAG rounds).

Parameters are built from dagmoe_ref.init_params (same names, same values), so the fast model computes
the same function as the reference: selfcheck.py compares losses and every gradient.
"""
import math

import torch
import torch.nn.functional as F

import dagmoe_ref as ref


class FlatAdamW:
    """torch.optim.AdamW's update (decoupled weight decay, bias corrections, denominator sqrt(v)/sqrt(bc2) + eps)
    on the flat buffers, every operation in place into moment and scratch buffers allocated once: the same bits
    as torch.optim.AdamW(foreach=True), which allocates two buffer-sized temporaries per step (about 1.7x faster
    here on the peer-ref model's 13.9M parameters)."""

    def __init__(self, groups, lr, betas, eps):
        self.groups = [(p, wd, torch.zeros_like(p), torch.zeros_like(p), torch.empty_like(p)) for p, wd in groups]
        self.lr, (self.b1, self.b2), self.eps, self.t = lr, betas, eps, 0

    @torch.no_grad()
    def step(self):
        self.t += 1
        bc1 = 1 - self.b1 ** self.t
        bc2_sqrt = (1 - self.b2 ** self.t) ** 0.5
        for p, wd, m, v, buf in self.groups:
            g = p.grad
            if wd != 0:
                p.mul_(1 - self.lr * wd)
            m.mul_(self.b1).add_(g, alpha=1 - self.b1)
            v.mul_(self.b2).addcmul_(g, g, value=1 - self.b2)
            torch.sqrt(v, out=buf)
            buf.div_(bc2_sqrt).add_(self.eps)
            p.addcdiv_(m, buf, value=-self.lr / bc1)


class PairwiseMessages(torch.autograd.Function):
    """msg_i = Σ_j σ(a_i + b_j) ⊙ (c_i + e_j) for a, b, c, e [T, K, g]; chunks of tokens with ~2M elements of
    [chunk, K, K, g] each, so the working set stays in cache; the backward recomputes the gates."""

    @staticmethod
    def _chunk(a):
        T, K, g = a.shape
        return max(64, (1 << 21) // (K * K * g))

    @staticmethod
    def forward(ctx, a, b, c, e):
        ctx.save_for_backward(a, b, c, e)
        out = torch.empty(a.shape, dtype=a.dtype)
        ch = PairwiseMessages._chunk(a)
        for t0 in range(0, a.shape[0], ch):
            sl = slice(t0, t0 + ch)
            s = torch.add(a[sl, :, None, :], b[sl, None, :, :]).sigmoid_()
            s.mul_(torch.add(c[sl, :, None, :], e[sl, None, :, :]))
            torch.sum(s, 2, out=out[sl])
        return out

    @staticmethod
    def backward(ctx, dout):
        a, b, c, e = ctx.saved_tensors
        da, db, dc, de = (torch.empty(a.shape, dtype=a.dtype) for _ in range(4))
        ch = PairwiseMessages._chunk(a)
        for t0 in range(0, a.shape[0], ch):
            sl = slice(t0, t0 + ch)
            s = torch.add(a[sl, :, None, :], b[sl, None, :, :]).sigmoid_()
            gs = s * dout[sl, :, None, :]                      # ∂/∂m_ij: dc_i = Σ_j, de_j = Σ_i
            torch.sum(gs, 2, out=dc[sl])
            torch.sum(gs, 1, out=de[sl])
            gs.mul_(torch.add(c[sl, :, None, :], e[sl, None, :, :])).mul_(1 - s)  # q·s·m·(1 − s): ∂/∂(a_i + b_j)
            torch.sum(gs, 2, out=da[sl])
            torch.sum(gs, 1, out=db[sl])
        return da, db, dc, de


class FastModel:
    """The model of `cfg` (aggregators sum, shared, dag, mlp-mix) on flat parameter/gradient buffers."""

    def __init__(self, cfg, tc, seed, dispatch="sorted", dtype=torch.float32, params=None):
        """params: a dagmoe_ref parameter dict to start from (default: dagmoe_ref.init_params(cfg, seed))."""
        if cfg.aggregator not in ("sum", "dag", "shared", "mlp-mix"):
            raise ValueError(f"peer_model: aggregator {cfg.aggregator} not implemented (use --impl ref)")
        if dispatch not in ("sorted", "padded"):
            raise ValueError(f"peer_model: dispatch {dispatch}: must be sorted or padded")
        self.cfg, self.tc, self.dispatch = cfg, tc, dispatch
        p = params if params is not None else ref.init_params(cfg, seed=seed, dtype=dtype)
        self.moe = [ref.is_moe_block(p, l) for l in range(cfg.n_layers)]
        N = cfg.n_experts
        # name -> tensor (fused where the fast model fuses), in the reference's values
        t = {"tok_emb": p["tok_emb"].detach()}
        for l in range(cfg.n_layers):
            pre = f"layers.{l}."
            t[pre + "attn_norm"] = p[pre + "attn_norm"].detach()
            t[pre + "attn.wqkv"] = torch.cat([p[pre + "attn." + n].detach() for n in ("wq", "wk", "wv")])
            t[pre + "attn.wo"] = p[pre + "attn.wo"].detach()
            t[pre + "ffn_norm"] = p[pre + "ffn_norm"].detach()
            if not self.moe[l]:
                f = pre + "ffn."
                t[f + "w_gu"] = torch.cat([p[f + "w_gate"].detach(), p[f + "w_up"].detach()])
                t[f + "w_down"] = p[f + "w_down"].detach()
                continue
            m = pre + "moe."
            t[m + "router"] = p[m + "router"].detach()
            wg, wu, wd = (p[m + "experts." + n].detach() for n in ("w_gate", "w_up", "w_down"))
            if dispatch == "padded":
                t[m + "experts.w_gu"] = torch.cat([wg, wu], dim=1)        # [N, 2de, d]
                t[m + "experts.w_down"] = wd                               # [N, d, de]
            else:
                for e in range(N):
                    t[f"{m}experts.{e}.w_gu"] = torch.cat([wg[e], wu[e]])  # [2de, d]
                    t[f"{m}experts.{e}.w_down"] = wd[e]                    # [d, de]
            if cfg.aggregator == "dag":
                for r in range(cfg.dag_rounds):
                    q = f"{m}dag.{r}."
                    t[q + "norm"] = p[q + "norm"].detach()
                    t[q + "w_down"] = p[q + "w_down"].detach()
                    t[q + "w4"] = torch.cat([p[q + n].detach() for n in ("a", "b", "c", "d")])  # [4g, g]
                    t[q + "w_up"] = p[q + "w_up"].detach()
            elif cfg.aggregator == "shared":
                s = m + "shared."
                t[s + "w_gu"] = torch.cat([p[s + "w_gate"].detach(), p[s + "w_up"].detach()])
                t[s + "w_down"] = p[s + "w_down"].detach()
            elif cfg.aggregator == "mlp-mix":
                t[m + "mix.w_down"] = p[m + "mix.w_down"].detach()
                t[m + "mix.w_up"] = p[m + "mix.w_up"].detach()
        t["final_norm"] = p["final_norm"].detach()
        if not cfg.tie_embeddings:
            t["lm_head"] = p["lm_head"].detach()

        # one flat buffer per decay group; leaves are views into it, their grads views into a flat grad buffer
        groups = {True: [n for n in t if ref.decays(n, tc.decay_all)],
                  False: [n for n in t if not ref.decays(n, tc.decay_all)]}
        self.params, self.flat, self.flat_grad = {}, {}, {}
        for decay, names in groups.items():
            total = sum(t[n].numel() for n in names)
            flat = torch.empty(total, dtype=dtype)
            grad = torch.zeros(total, dtype=dtype)
            off = 0
            for n in names:
                k = t[n].numel()
                view = flat[off:off + k].view(t[n].shape)
                view.copy_(t[n])
                leaf = view.detach().requires_grad_(True)   # shares the flat storage
                leaf.grad = grad[off:off + k].view(t[n].shape)
                self.params[n] = leaf
                off += k
            self.flat[decay] = torch.nn.Parameter(flat, requires_grad=True)
            self.flat[decay].grad = grad
            self.flat_grad[decay] = grad
        self.opt = FlatAdamW([(self.flat[True], tc.weight_decay), (self.flat[False], 0.0)], tc.lr,
                             (tc.beta1, tc.beta2), tc.eps)

        H, hd, S = cfg.n_heads, cfg.d_model // cfg.n_heads, cfg.seq_len
        i = torch.arange(hd // 2, dtype=torch.float64)
        ang = torch.arange(S, dtype=torch.float64)[:, None] * cfg.rope_theta ** (-2.0 * i / hd)
        self.freqs = torch.polar(torch.ones_like(ang), ang).to(torch.complex64 if dtype == torch.float32
                                                                 else torch.complex128)  # [S, hd/2]
        self.mask = torch.full((S, S), float("-inf"), dtype=dtype).triu(1)

    def numel(self):
        return sum(f.numel() for f in self.flat.values())

    # ------------------------------------------------------------------ forward

    def _rmsnorm(self, x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.cfg.norm_eps) * w

    def _attention(self, x, pre, B, S):
        cfg = self.cfg
        d, H = cfg.d_model, cfg.n_heads
        hd = d // H
        qkv = x @ self.params[pre + "attn.wqkv"].t()                     # [T, 3d]
        qk = qkv[:, :2 * d].reshape(B, S, 2 * H, hd // 2, 2)
        qk = torch.view_as_real(torch.view_as_complex(qk) * self.freqs[:S, None, :]).reshape(B, S, 2 * H, hd)
        qk = qk.transpose(1, 2)                                           # [B, 2H, S, hd]
        q = qk[:, :H].reshape(B * H, S, hd)
        k = qk[:, H:].reshape(B * H, S, hd)
        v = qkv[:, 2 * d:].reshape(B, S, H, hd).transpose(1, 2).reshape(B * H, S, hd)
        scores = torch.baddbmm(self.mask[:S, :S], q, k.transpose(1, 2), alpha=1.0 / math.sqrt(hd))
        out = torch.bmm(torch.softmax(scores, dim=-1), v)                 # [BH, S, hd]
        out = out.view(B, H, S, hd).transpose(1, 2).reshape(B * S, d)
        return out @ self.params[pre + "attn.wo"].t()

    def _swiglu(self, x, w_gu, w_down):
        gu = x @ w_gu.t()
        g, u = gu.chunk(2, dim=-1)
        return (F.silu(g) * u) @ w_down.t()

    def _experts(self, x, m, top, gates, combine):
        """Sorted dispatch of the T·K slots; returns h-free sum Σ_i g_i Y_i [T, d] (combine) or g_i Y_i [T, K, d]."""
        cfg = self.cfg
        T, d = x.shape
        K, N = cfg.top_k, cfg.n_experts
        flat = top.reshape(-1)
        order = torch.argsort(flat, stable=True)                          # slots in expert order
        tok = order // K
        counts = torch.bincount(flat, minlength=N).tolist()
        xs = x.index_select(0, tok)                                       # [TK, d] tokens in expert order
        if self.dispatch == "padded":
            C = max(counts)
            start = [0]
            for c in counts[:-1]:
                start.append(start[-1] + c)
            # row of slot (in expert order) inside the padded [N*C, d] block
            idx = torch.cat([torch.arange(c) + e * C for e, c in enumerate(counts)])
            xp = x.new_zeros(N * C, d).index_copy(0, idx, xs).view(N, C, d)
            gu = torch.bmm(xp, self.params[m + "experts.w_gu"].transpose(1, 2))   # [N, C, 2de]
            g, u = gu.chunk(2, dim=-1)
            yp = torch.bmm(F.silu(g) * u, self.params[m + "experts.w_down"].transpose(1, 2))
            ys = yp.reshape(N * C, d).index_select(0, idx)
        else:
            parts = []
            for e, xe in enumerate(xs.split(counts)):
                if xe.shape[0] == 0:
                    continue
                parts.append(self._swiglu(xe, self.params[f"{m}experts.{e}.w_gu"],
                                          self.params[f"{m}experts.{e}.w_down"]))
            ys = torch.cat(parts)
        ys = ys * gates.reshape(-1).index_select(0, order)[:, None]       # g_i Y_i in expert order
        if combine:
            return x.new_zeros(T, d).index_add_(0, tok, ys)
        inv = torch.empty_like(order)
        inv[order] = torch.arange(order.numel())
        return ys.index_select(0, inv).view(T, K, d)

    def _moe(self, h, l, aux):
        cfg = self.cfg
        pre, m = f"layers.{l}.", f"layers.{l}.moe."
        K, N = cfg.top_k, cfg.n_experts
        x = self._rmsnorm(h, self.params[pre + "ffn_norm"])
        logits = x @ self.params[m + "router"].t()
        probs = torch.softmax(logits, dim=-1)
        gates, top = torch.topk(probs, K, dim=-1)      # descending; the reference's stable sort on distinct values
        if cfg.normalize_topk:
            gates = gates / gates.sum(-1, keepdim=True)
        T = x.shape[0]
        f = torch.bincount(top.reshape(-1), minlength=N).to(probs.dtype) / (T * K)
        aux.append(cfg.balance_coef * N * (f * probs.mean(0)).sum()
                   + cfg.z_loss_coef * torch.logsumexp(logits, dim=-1).pow(2).mean())
        agg = cfg.aggregator
        if agg == "sum":
            return h + self._experts(x, m, top, gates, combine=True)
        if agg == "shared":
            s = m + "shared."
            return h + self._experts(x, m, top, gates, True) + self._swiglu(
                x, self.params[s + "w_gu"], self.params[s + "w_down"])
        gY = self._experts(x, m, top, gates, combine=False)                  # [T, K, d]
        if agg == "mlp-mix":
            mix = F.gelu(gY.reshape(T, -1) @ self.params[m + "mix.w_down"].t(),
                         approximate="tanh") @ self.params[m + "mix.w_up"].t()
            return h + gY.sum(1) + mix
        # dag
        outer = cfg.dag_residual == "outer"
        nodes = gY
        if cfg.dag_inject:
            nodes = nodes + (x if outer else h)[:, None, :] / K
        g = cfg.dag_width
        for r in range(cfg.dag_rounds):
            q = f"{m}dag.{r}."
            u = self._rmsnorm(nodes, self.params[q + "norm"])
            z = u @ self.params[q + "w_down"].t()                             # [T, K, g]
            a, b, c, e = (z @ self.params[q + "w4"].t()).split(g, dim=-1)
            msg = PairwiseMessages.apply(a, b, c, e)
            nodes = nodes + msg @ self.params[q + "w_up"].t()
        out = nodes.sum(1)
        return h + out if outer else out

    def forward(self, inputs, targets):
        cfg = self.cfg
        B, S = inputs.shape
        h = F.embedding(inputs.reshape(-1), self.params["tok_emb"])         # [T, d]
        aux = []
        for l in range(cfg.n_layers):
            pre = f"layers.{l}."
            h = h + self._attention(self._rmsnorm(h, self.params[pre + "attn_norm"]), pre, B, S)
            if self.moe[l]:
                h = self._moe(h, l, aux)
            else:
                x = self._rmsnorm(h, self.params[pre + "ffn_norm"])
                h = h + self._swiglu(x, self.params[pre + "ffn.w_gu"], self.params[pre + "ffn.w_down"])
        head = self.params["tok_emb"] if cfg.tie_embeddings else self.params["lm_head"]
        logits = self._rmsnorm(h, self.params["final_norm"]) @ head.t()
        lm = F.cross_entropy(logits, targets.reshape(-1), ignore_index=-1)
        loss = lm + sum(aux) if aux else lm
        return loss, lm

    # ------------------------------------------------------------------ step

    def train_step(self, inputs, targets, lr):
        """Zero grads, forward, backward, global-norm clip, AdamW. Returns the total loss (a tensor)."""
        for g in self.flat_grad.values():
            g.zero_()
        loss, _ = self.forward(inputs, targets)
        loss.backward()
        grads = list(self.flat_grad.values())
        norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
        clip = self.tc.grad_clip
        if clip > 0:
            scale = torch.clamp(clip / (norm + 1e-6), max=1.0)   # torch.nn.utils.clip_grad_norm_'s rule
            for g in grads:
                g.mul_(scale)
        self.opt.lr = lr
        self.opt.step()
        return loss
