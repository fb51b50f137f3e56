#!/usr/bin/env python3
"""Report of the fine-tuning experiment: tables (results.md, results.json) and SVG plots from the run folders.

Usage: report.py RUNS_DIR OUT_DIR. Standard library only (Student t and Welch's test via the regularized
incomplete beta function), so any python3 runs it.
"""
import json
import math
import os
import sys

RUNS, OUT = sys.argv[1], sys.argv[2]
SEEDS = [1, 2, 3]
VARIANTS = ["sum", "shared", "dag"]
COLORS = {"sum": "#4c72b0", "shared": "#dd8452", "dag": "#55a868", "sum-to-dag": "#c44e52"}


# ---------------------------------------------------------------- statistics

def betacf(a, b, x):
    qab, qap, qam = a + b, a + 1, a - 1
    c, d = 1.0, 1 - qab * x / qap
    d = 1 / (d if abs(d) > 1e-300 else 1e-300)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1 + aa * d
        d = 1 / (d if abs(d) > 1e-300 else 1e-300)
        c = 1 + aa / c if abs(1 + aa / c) > 1e-300 else 1e-300
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1 + aa * d
        d = 1 / (d if abs(d) > 1e-300 else 1e-300)
        c = 1 + aa / c if abs(1 + aa / c) > 1e-300 else 1e-300
        de = d * c
        h *= de
        if abs(de - 1) < 1e-12:
            break
    return h


def betai(a, b, x):
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    bt = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(1 - x))
    if x < (a + 1) / (a + b + 2):
        return bt * betacf(a, b, x) / a
    return 1 - bt * betacf(b, a, 1 - x) / b


def t_two_sided_p(t, df):
    return betai(df / 2, 0.5, df / (df + t * t))


def t_quantile_975(df):
    lo, hi = 0.0, 100.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if t_two_sided_p(mid, df) > 0.05:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def mean(x):
    return sum(x) / len(x) if x else float("nan")


def sd(x):
    if len(x) < 2:
        return float("nan")
    m = mean(x)
    return math.sqrt(sum((v - m) ** 2 for v in x) / (len(x) - 1))


def ci95(x):
    return t_quantile_975(len(x) - 1) * sd(x) / math.sqrt(len(x)) if len(x) >= 2 else float("nan")


def welch_p(a, b):
    if len(a) < 2 or len(b) < 2:
        return float("nan")
    va, vb = sd(a) ** 2 / len(a), sd(b) ** 2 / len(b)
    if va + vb == 0:
        return 1.0 if mean(a) == mean(b) else 0.0
    t = (mean(a) - mean(b)) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    return t_two_sided_p(abs(t), df)


# ---------------------------------------------------------------- reading

def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def summaries(phase, variant):
    out = []
    for s in SEEDS:
        j = load(os.path.join(RUNS, phase, variant, "s%d" % s, "summary.json"))
        if j is not None:
            out.append(j)
    return out


def run_lines(phase, variant, name):
    """(seed, object) for every line of the JSON-lines file `name` of each seed's run folder that has one"""
    for s in SEEDS:
        p = os.path.join(RUNS, phase, variant, "s%d" % s, name)
        if os.path.exists(p):
            for line in open(p):
                yield s, json.loads(line)


def downstream(phase, variant):
    """{(corpus, kind): {"acc": [...per seed], "acc_norm": [...]}}"""
    res = {}
    for _, o in run_lines(phase, variant, "downstream.jsonl"):
        corpus = os.path.basename(os.path.dirname(o["task"]))
        d = res.setdefault((corpus, o["kind"]), {"acc": [], "acc_norm": [], "n": o["examples"], "example_ci": []})
        d["acc"].append(o["acc"])
        d["example_ci"].append(o["acc_ci95"])
        if "acc_norm" in o:
            d["acc_norm"].append(o["acc_norm"])
    return res


def first_step(phase, variant, seed):
    p = os.path.join(RUNS, phase, variant, "s%d" % seed, "metrics.jsonl")
    if not os.path.exists(p):
        return None
    for line in open(p):
        o = json.loads(line)
        if o.get("kind") == "train" and o.get("step") == 1:
            return o
    return None


def curve(phase, variant, key="loss", kind="train"):
    """mean over seeds of key by step"""
    by = {}
    for _, o in run_lines(phase, variant, "metrics.jsonl"):
        if o.get("kind") == kind and key in o:
            by.setdefault(o["step"], []).append(o[key])
    return sorted((k, mean(v)) for k, v in by.items() if len(v) == max(len(x) for x in by.values()))


def fmt(m, c, digits=4):
    if m != m:
        return "n/a"
    return ("%.*f ± %.*f" % (digits, m, digits, c)) if c == c else "%.*f" % (digits, m)


def pfmt(p):
    return "n/a" if p != p else ("%.3f" % p if p >= 0.001 else "%.1e" % p)


results = {"phases": {}}
md = []


def metric_table(title, phase, variants, key, digits=4, higher_better=False):
    md.append("### " + title + "\n")
    md.append("| variant | n | params total | %s (mean ± 95%% CI) | Δ vs sum | Welch p vs sum |" % key)
    md.append("|---|---:|---:|---:|---:|---:|")
    base = [s[key] for s in summaries(phase, "sum")]
    rows = {}
    for v in variants:
        ss = summaries(phase, v)
        x = [s[key] for s in ss]
        if not x:
            continue
        d = mean(x) - mean(base)
        p = welch_p(x, base) if v != "sum" else float("nan")
        rows[v] = {"values": x, "mean": mean(x), "ci95": ci95(x), "delta_vs_sum": d, "welch_p_vs_sum": p,
                   "params_total": ss[0]["params_total"]}
        md.append("| %s | %d | %s | %s | %s | %s |" % (v, len(x), "{:,}".format(ss[0]["params_total"]),
                                                    fmt(mean(x), ci95(x), digits),
                                                    "–" if v == "sum" else "%+.*f" % (digits, d), pfmt(p)))
    md.append("")
    results["phases"].setdefault(phase, {})[key] = rows
    return rows


def downstream_table(title, phase, variants):
    md.append("### " + title + "\n")
    md.append("| variant | KJV choice acc | KJV choice acc_norm | KJV cloze | Moby choice acc | Moby choice acc_norm | Moby cloze |")
    md.append("|---|---:|---:|---:|---:|---:|---:|")
    cols = [("kjv", "choice", "acc"), ("kjv", "choice", "acc_norm"), ("kjv", "cloze", "acc"),
            ("moby", "choice", "acc"), ("moby", "choice", "acc_norm"), ("moby", "cloze", "acc")]
    base = downstream(phase, "sum")
    out = {}
    for v in variants:
        d = downstream(phase, v)
        if not d:
            continue
        cells = []
        out[v] = {}
        for corpus, kind, m in cols:
            x = d.get((corpus, kind), {}).get(m, [])
            b = base.get((corpus, kind), {}).get(m, [])
            p = welch_p(x, b) if v != "sum" else float("nan")
            out[v]["%s-%s-%s" % (corpus, kind, m)] = {"values": x, "mean": mean(x), "ci95": ci95(x), "welch_p_vs_sum": p,
                                                      "examples": d.get((corpus, kind), {}).get("n"),
                                                      "per_run_example_ci95": d.get((corpus, kind), {}).get("example_ci")}
            cells.append(fmt(mean(x), ci95(x), 3) + ("" if v == "sum" else " (p %s)" % pfmt(p)))
        md.append("| %s | %s |" % (v, " | ".join(cells)))
    md.append("")
    results["phases"].setdefault(phase, {})["downstream"] = out
    return out


pre = metric_table("Pre-training on the King James Bible (val_loss, nats/byte)", "pretrain", VARIANTS, "val_loss")
ftm = metric_table("Fine-tuning on Moby-Dick (val_loss on Moby-Dick's validation split)", "ft-moby", VARIANTS + ["sum-to-dag"], "val_loss")
fth = metric_table("Fine-tuning on hops (test_accuracy, exact match on 500 held-out problems)", "ft-hops", VARIANTS + ["sum-to-dag"],
                   "test_accuracy")
dpre = downstream_table("Downstream accuracy of the pre-trained models (test splits, 300 examples each where available)", "pretrain", VARIANTS)
dft = downstream_table("Downstream accuracy after fine-tuning on Moby-Dick", "ft-moby", VARIANTS + ["sum-to-dag"])

# upcycling check: the first step of sum-to-dag sees exactly the losses of the sum fine-tune (same batch)
md.append("### Upcycling: first fine-tuning step of sum→dag against sum→sum (same batch)\n")
md.append("| task | seed | sum→sum step-1 loss | sum→dag step-1 loss | bit-identical |")
md.append("|---|---:|---:|---:|---|")
checks = []
for phase in ["ft-moby", "ft-hops"]:
    for s in SEEDS:
        a, b = first_step(phase, "sum", s), first_step(phase, "sum-to-dag", s)
        if a is None or b is None:
            continue
        same = all(a[k] == b[k] for k in ["loss", "balance_loss", "z_loss"])
        checks.append({"phase": phase, "seed": s, "sum": a["loss"], "sum_to_dag": b["loss"], "identical": same})
        md.append("| %s | %d | %r | %r | %s |" % (phase, s, a["loss"], b["loss"], "yes" if same else "NO"))
md.append("")
results["upcycling_first_step"] = checks

# times
times = {}
tsv = os.path.join(RUNS, "times.tsv")
if os.path.exists(tsv):
    for line in open(tsv):
        name, _, sec = line.rstrip("\n").split("\t")
        phase = name.split(" ")[0]
        times[phase] = times.get(phase, 0) + int(sec)
results["wall_seconds_by_phase"] = times
md.append("### Wall time (this 2-core VM, shared with other work; nice'd)\n")
md.append("| phase | runs | wall |")
md.append("|---|---:|---:|")
counts = {}
if os.path.exists(tsv):
    for line in open(tsv):
        counts[line.split(" ")[0].split("\t")[0]] = counts.get(line.split(" ")[0].split("\t")[0], 0) + 1
for k, v in times.items():
    md.append("| %s | %d | %.1f min |" % (k, counts.get(k, 0), v / 60))
md.append("| total | %d | %.1f min |" % (sum(counts.values()), sum(times.values()) / 60))
md.append("")

with open(os.path.join(OUT, "results.md"), "w") as f:
    f.write("\n".join(md))
with open(os.path.join(OUT, "results.json"), "w") as f:
    json.dump(results, f, indent=1, default=lambda x: None)


# ---------------------------------------------------------------- plots (SVG)

def bars(file, title, ylabel, groups, series, lo=None):
    """groups: list of labels; series: {variant: [(mean, ci) per group]}"""
    W, H, L, B, T = 760, 360, 70, 60, 40
    vals = [m - (c if c == c else 0) for s in series.values() for m, c in s if m == m] + \
           [m + (c if c == c else 0) for s in series.values() for m, c in s if m == m]
    if not vals:
        return
    ymin = lo if lo is not None else min(vals) - 0.05 * (max(vals) - min(vals) + 1e-9)
    ymax = max(vals) + 0.05 * (max(vals) - min(vals) + 1e-9)
    y = lambda v: T + (H - T - B) * (1 - (v - ymin) / (ymax - ymin))
    svg = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">' % (W, H),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="20" font-size="14">%s</text>' % (L, title)]
    for i in range(6):
        v = ymin + (ymax - ymin) * i / 5
        svg.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>' % (L, W - 20, y(v), y(v)))
        svg.append('<text x="%d" y="%.1f" text-anchor="end">%.3f</text>' % (L - 5, y(v) + 4, v))
    svg.append('<text x="15" y="%d" transform="rotate(-90 15 %d)" text-anchor="middle">%s</text>' % ((H - B + T) / 2, (H - B + T) / 2, ylabel))
    gw = (W - 20 - L) / len(groups)
    names = list(series)
    bw = gw * 0.8 / len(names)
    for gi, g in enumerate(groups):
        svg.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>' % (L + gw * (gi + 0.5), H - B + 18, g))
        for si, n in enumerate(names):
            m, c = series[n][gi]
            if m != m:
                continue
            x0 = L + gw * gi + gw * 0.1 + bw * si
            svg.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>' % (x0, y(m), bw * 0.9, max(0, y(ymin) - y(m)), COLORS.get(n, "#888")))
            if c == c:
                xc = x0 + bw * 0.45
                svg.append('<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="black"/>' % (xc, xc, y(m - c), y(m + c)))
    for si, n in enumerate(names):
        svg.append('<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d">%s</text>' % (L + 110 * si, H - 22, COLORS.get(n, "#888"), L + 110 * si + 16, H - 12, n))
    svg.append("</svg>")
    os.makedirs(os.path.join(OUT, "plots"), exist_ok=True)
    with open(os.path.join(OUT, "plots", file), "w") as f:
        f.write("\n".join(svg))


def lines(file, title, ylabel, curves):
    W, H, L, B, T = 760, 360, 70, 60, 40
    pts = [p for c in curves.values() for p in c]
    if not pts:
        return
    xmin, xmax = min(p[0] for p in pts), max(p[0] for p in pts)
    ymin, ymax = min(p[1] for p in pts), max(p[1] for p in pts)
    x = lambda v: L + (W - 20 - L) * (v - xmin) / max(1e-9, xmax - xmin)
    y = lambda v: T + (H - T - B) * (1 - (v - ymin) / max(1e-9, ymax - ymin))
    svg = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">' % (W, H),
           '<rect width="100%" height="100%" fill="white"/>', '<text x="%d" y="20" font-size="14">%s</text>' % (L, title)]
    for i in range(6):
        v = ymin + (ymax - ymin) * i / 5
        svg.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">%.3f</text>' % (L, W - 20, y(v), y(v), L - 5, y(v) + 4, v))
    for i in range(6):
        v = xmin + (xmax - xmin) * i / 5
        svg.append('<text x="%.1f" y="%d" text-anchor="middle">%d</text>' % (x(v), H - B + 18, v))
    svg.append('<text x="%d" y="%d" text-anchor="middle">step</text>' % ((W + L) / 2, H - B + 36))
    svg.append('<text x="15" y="%d" transform="rotate(-90 15 %d)" text-anchor="middle">%s</text>' % ((H - B + T) / 2, (H - B + T) / 2, ylabel))
    for si, (n, c) in enumerate(curves.items()):
        svg.append('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>' % (COLORS.get(n, "#888"), " ".join("%.1f,%.1f" % (x(a), y(b)) for a, b in c)))
        svg.append('<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d">%s</text>' % (L + 110 * si, H - 22, COLORS.get(n, "#888"), L + 110 * si + 16, H - 12, n))
    svg.append("</svg>")
    os.makedirs(os.path.join(OUT, "plots"), exist_ok=True)
    with open(os.path.join(OUT, "plots", file), "w") as f:
        f.write("\n".join(svg))


allv = VARIANTS + ["sum-to-dag"]
bars("loss.svg", "Validation loss (mean ± 95% CI over 3 seeds)", "val_loss",
     ["pre-train (KJV)", "fine-tune (Moby-Dick)"],
     {v: [(r.get(v, {}).get("mean", float("nan")), r.get(v, {}).get("ci95", float("nan"))) for r in (pre, ftm)] for v in allv})
bars("hops.svg", "hops test accuracy after fine-tuning (mean ± 95% CI)", "test_accuracy", ["hops"],
     {v: [(fth.get(v, {}).get("mean", float("nan")), fth.get(v, {}).get("ci95", float("nan")))] for v in allv}, lo=0)
keys = ["kjv-choice-acc", "kjv-choice-acc_norm", "kjv-cloze-acc", "moby-choice-acc", "moby-choice-acc_norm", "moby-cloze-acc"]
for name, d in [("downstream-pretrained.svg", dpre), ("downstream-finetuned.svg", dft)]:
    bars(name, "Downstream accuracy, " + ("pre-trained" if "pre" in name else "after Moby-Dick fine-tuning") + " (mean ± 95% CI)",
         "accuracy", [k.replace("-acc", " acc").replace("-", " ") for k in keys],
         {v: [(d[v][k]["mean"], d[v][k]["ci95"]) for k in keys] for v in d}, lo=0)
lines("ft-moby-train-loss.svg", "Fine-tuning on Moby-Dick: train loss (mean of 3 seeds)", "train loss",
      {v: curve("ft-moby", v) for v in allv if curve("ft-moby", v)})
lines("ft-hops-accuracy.svg", "Fine-tuning on hops: test accuracy (mean of 3 seeds)", "test_accuracy",
      {v: curve("ft-hops", v, "test_accuracy", "eval") for v in allv if curve("ft-hops", v, "test_accuracy", "eval")})
print("wrote", os.path.join(OUT, "results.md"))
