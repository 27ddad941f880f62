"""Train the repeat-aware next-category head (src/core/next-category-head.ts).

Reads the features written by src/tools/head-features.ts (VALID users: the encoder has never
seen them, so its softmax is as reliable there as on new users), chooses the hidden size by
5-fold cross-validation over users (several seeds), fits the chosen size on all valid users and
stores the weights in the model metadata as `nextCategoryHead`. The test users are not read.

The model: candidates of one position are scored by a one-hidden-layer ReLU network over
standardised features; a softmax over the candidates is trained with cross-entropy on positions
whose next category is among the candidates (the others count as misses in the metrics).

    python onnx/train_next_category_head.py --features PREFIX
        [--out onnx/artifacts/next-category-head.json] [--report onnx/artifacts/next-category-head.cv.json]

numpy only; deterministic for given inputs and seeds.
"""
import argparse
import json

import numpy as np

HIDDEN_GRID = (8, 16)
SEEDS = (0, 1, 2)
FOLDS = 5
FOLD_SEED = 20171125
ITERS = 400
LR = 0.05
L2 = 1e-3
# Ablations: which features each variant keeps (by name, see HEAD_FEATURES).
MODEL_FEATURES = ("model_log_prob", "out_of_vocabulary", "log1p_model_rank")


def load(prefix):
    meta = json.load(open(f"{prefix}.json"))
    nf = len(meta["features"])
    x = np.fromfile(f"{prefix}.features.f32", dtype="<f4").reshape(-1, nf).astype(np.float64)
    c = np.fromfile(f"{prefix}.candidates.i32", dtype="<i4").reshape(-1, 2)
    p = np.fromfile(f"{prefix}.positions.i32", dtype="<i4").reshape(-1, 2)
    return meta, x, c[:, 0], c[:, 1], p


def top10(score, pos, label, npos):
    """Per-position hit@10 and DCG@10 of the target; ties by candidate order (category id)."""
    order = np.lexsort((np.arange(len(score)), -score, pos))
    ps, ls = pos[order], label[order]
    starts = np.r_[0, np.flatnonzero(np.diff(ps)) + 1]
    rank = np.arange(len(ps)) - np.repeat(starts, np.diff(np.r_[starts, len(ps)]))
    hit, dcg = np.zeros(npos), np.zeros(npos)
    t = ls == 1
    r, pp = rank[t], ps[t]
    ok = r < 10
    hit[pp[ok]] = 1
    dcg[pp[ok]] = 1 / np.log2(r[ok] + 2)
    return hit, dcg


def fit(x, pos, label, npos, hidden, seed):
    rng = np.random.default_rng(seed)
    mean = x.mean(0)
    scale = x.std(0)
    scale[scale < 1e-9] = 1.0
    z = (x - mean) / scale
    covered = np.zeros(npos, bool)
    covered[pos[label == 1]] = True
    keep = covered[pos]
    z, pk, lk = z[keep], pos[keep], label[keep].astype(np.float64)
    assert np.all(np.diff(pk) >= 0), "candidates must be grouped by position"
    starts = np.r_[0, np.flatnonzero(np.diff(pk)) + 1]
    counts = np.diff(np.r_[starts, len(pk)])
    n = covered.sum()
    d = z.shape[1]
    params = [rng.normal(0, np.sqrt(2 / d), (d, hidden)), np.zeros(hidden), rng.normal(0, np.sqrt(1 / hidden), hidden)]
    m = [np.zeros_like(q) for q in params]
    v = [np.zeros_like(q) for q in params]
    for it in range(1, ITERS + 1):
        w1, b1, w2 = params
        a = z @ w1 + b1
        h = np.maximum(a, 0)
        s = h @ w2
        # Candidates of a position are contiguous (pk is sorted): segment max and sum by reduceat.
        mx = np.maximum.reduceat(s, starts)
        e = np.exp(s - np.repeat(mx, counts))
        tot = np.add.reduceat(e, starts)
        g = (e / np.repeat(tot, counts) - lk) / n
        gh = np.outer(g, w2) * (a > 0)
        grads = [z.T @ gh + L2 * w1, gh.sum(0), h.T @ g + L2 * w2]
        for i, (q, gq) in enumerate(zip(params, grads)):
            m[i] = 0.9 * m[i] + 0.1 * gq
            v[i] = 0.999 * v[i] + 0.001 * gq * gq
            q -= LR * (m[i] / (1 - 0.9**it)) / (np.sqrt(v[i] / (1 - 0.999**it)) + 1e-8)
    return {"mean": mean, "scale": scale, "w1": params[0], "b1": params[1], "w2": params[2]}


def score(head, x):
    z = (x - head["mean"]) / head["scale"]
    return np.maximum(z @ head["w1"] + head["b1"], 0) @ head["w2"]


def subset(mask_pos, pos, npos):
    """Candidates of the positions in mask_pos, with positions renumbered 0..k−1."""
    keep = mask_pos[pos]
    idx = np.flatnonzero(mask_pos)
    remap = -np.ones(npos, int)
    remap[idx] = np.arange(len(idx))
    return keep, remap[pos[keep]], len(idx)


def cross_validate(x, pos, label, positions, hidden, seed):
    npos = len(positions)
    users = positions[:, 0]
    uniq = np.unique(users)
    fold_of = dict(zip(uniq, np.random.default_rng(FOLD_SEED).permutation(len(uniq)) % FOLDS))
    pos_fold = np.array([fold_of[u] for u in users])
    hit, dcg = np.zeros(npos), np.zeros(npos)
    for k in range(FOLDS):
        ktr, ptr, ntr = subset(pos_fold != k, pos, npos)
        head = fit(x[ktr], ptr, label[ktr], ntr, hidden, seed)
        kte, pte, nte = subset(pos_fold == k, pos, npos)
        h, d = top10(score(head, x[kte]), pte, label[kte], nte)
        idx = np.flatnonzero(pos_fold == k)
        hit[idx], dcg[idx] = h, d
    repeat = positions[:, 1] == 1
    return {
        "hrAt10": hit.mean(), "ndcgAt10": dcg.mean(),
        "withoutRepeats": {"hrAt10": hit[~repeat].mean(), "ndcgAt10": dcg[~repeat].mean()},
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--features", required=True)
    ap.add_argument("--out", default="onnx/artifacts/next-category-head.json")
    ap.add_argument("--report", default="onnx/artifacts/next-category-head.cv.json")
    ap.add_argument("--quick", action="store_true", help="one hidden size, one seed (smoke test)")
    a = ap.parse_args()
    meta, x, pos, label, positions = load(a.features)
    names = meta["features"]
    hidden_grid = HIDDEN_GRID[:1] if a.quick else HIDDEN_GRID
    seeds = SEEDS[:1] if a.quick else SEEDS
    report = {"users": meta["users"], "positions": int(len(positions)), "folds": FOLDS, "seeds": list(seeds), "grid": {}, "ablations": {}}
    for hidden in hidden_grid:
        runs = [cross_validate(x, pos, label, positions, hidden, s) for s in seeds]
        report["grid"][str(hidden)] = {
            "hrAt10": [r["hrAt10"] for r in runs], "ndcgAt10": [r["ndcgAt10"] for r in runs],
            "withoutRepeats": [r["withoutRepeats"] for r in runs],
        }
        print(f"hidden {hidden}: CV HR@10 {np.mean([r['hrAt10'] for r in runs]):.4f} ± {np.std([r['hrAt10'] for r in runs]):.4f}"
              f"  NDCG@10 {np.mean([r['ndcgAt10'] for r in runs]):.4f} ± {np.std([r['ndcgAt10'] for r in runs]):.4f}", flush=True)
    best = max(hidden_grid, key=lambda h: np.mean(report["grid"][str(h)]["ndcgAt10"]))
    report["chosenHidden"] = best
    # Ablations at the chosen size, first seed: a feature left out is held at its mean (zero after standardising).
    for name, drop in (("history only", MODEL_FEATURES), ("model only", tuple(f for f in names if f not in MODEL_FEATURES))):
        xa = x.copy()
        for f in drop:
            xa[:, names.index(f)] = 0.0
        r = cross_validate(xa, pos, label, positions, best, seeds[0])
        report["ablations"][name] = r
        print(f"ablation {name}: CV HR@10 {r['hrAt10']:.4f} NDCG@10 {r['ndcgAt10']:.4f}", flush=True)
    head = fit(x, pos, label, len(positions), best, seeds[0])
    weights = {
        "version": f"head-{meta['modelVersion']}-h{best}",
        "features": names,
        "modelCandidates": meta["modelCandidates"],
        "trainedOn": f"{meta['users']} users ({len(positions)} positions)",
        "mean": head["mean"].tolist(), "scale": head["scale"].tolist(),
        "w1": head["w1"].tolist(), "b1": head["b1"].tolist(), "w2": head["w2"].tolist(),
    }
    # Golden vectors: the TypeScript scorer must give these scores for these feature rows
    # (test/unit/core/next-category-head.test.ts); rows spread over the file, deterministic.
    rows = np.linspace(0, len(x) - 1, 16).astype(int)
    weights["golden"] = {"features": x[rows].tolist(), "scores": score(head, x[rows]).tolist()}
    with open(a.report, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    with open(a.out, "w") as f:
        json.dump(weights, f, indent=1)
        f.write("\n")
    print(f"wrote the head (hidden {best}) to {a.out}")


if __name__ == "__main__":
    main()
