"""Train the churn hazard (src/core/churn-hazard.ts): P(no event within 24 h) at a checkpoint.

Reads the checkpoint features written by src/tools/churn-features.ts for the TRAIN users (fit)
and the VALID users (choice of the feature set). A logistic regression, fitted by Newton's method
with a small L2 penalty on standardised features: deterministic, no seed involved. The test users
are not read.

Candidates (nested feature sets, so the ablation is in the report):
  recency/frequency   idle time, events, days since first, events per day (the baseline a
                      consumer could fit with one query; stored as `baseline` for the evaluation)
  + rates             decayed recent and baseline rates and their ratio
  + rhythm            session gaps of the window: survival beyond idle time, sessions per day
  + encoder           the encoder's inactivity logit after the last event
The chosen set is the one with the highest valid ROC AUC; a feature outside the set gets weight 0.
Each feature's range over the train checkpoints is stored with the weights (`lower`, `upper`, also
on the baseline), and the service and the evaluation clamp features into it before scoring: the
sample spans 9 days, so `days_since_first_event` and the counts of a user with months of history
lie far outside anything the linear model saw (see LogisticWeights in src/core/churn-hazard.ts).

Explored, reported only (`explored` in the output; the service cannot compute them, so they are
never chosen: one that won on valid would first have to be built into src/core/churn-hazard.ts):
  + hidden state      the encoder's 64-value hidden state after the last event
  + embeddings        the short- and long-horizon user embeddings
  quadratic           every product of two "+ rhythm" features (nonlinearity without trees)
  without tenure      "+ rhythm" without days_since_first_event, which in a 9-day sample also tells
                      how far into the sample a checkpoint is

    python onnx/train_churn_hazard.py --train PREFIX --valid PREFIX [--out onnx/artifacts/churn-hazard.json]

numpy only.
"""
import argparse
import json

import numpy as np

L2 = 1e-2
SETS = {
    "recency/frequency": 4,
    "+ rates": 7,
    "+ rhythm": 10,
    "+ encoder": 11,
}


def load(prefix):
    meta = json.load(open(f"{prefix}.json"))
    nf = len(meta["features"])
    x = np.fromfile(f"{prefix}.features.f64", dtype="<f8").reshape(-1, nf)
    p = np.fromfile(f"{prefix}.points.i32", dtype="<i4").reshape(-1, 4)
    return meta, x, p[:, 2].astype(float), p[:, 0]


def load_encoder_state(prefix, meta, points):
    """The encoder state per point (churn-features.ts): hidden state, short and long embeddings."""
    w = meta["encoderState"]
    width = w["hidden"] + w["shortEmbedding"] + w["longEmbedding"]
    e = np.fromfile(f"{prefix}.encoder-state.f64", dtype="<f8").reshape(points, width)
    return e[:, : w["hidden"]], e[:, w["hidden"] :]


def pairwise_products(x, ref):
    """x's columns standardised by ref's (the train points), then every product of two of them."""
    z = (x - ref.mean(0)) / np.where(ref.std(0) < 1e-12, 1.0, ref.std(0))
    i, j = np.triu_indices(x.shape[1])
    return np.hstack([z, z[:, i] * z[:, j]])


def fit(x, y, k):
    """Logistic regression on the first k features; returns full-length mean/scale/coef."""
    nf = x.shape[1]
    mean = x.mean(0)
    scale = x.std(0)
    scale[scale < 1e-12] = 1.0
    z = np.hstack([np.ones((len(x), 1)), ((x - mean) / scale)[:, :k]])
    w = np.zeros(k + 1)
    reg = L2 * len(x) * np.r_[0, np.ones(k)]
    for _ in range(50):
        p = 1 / (1 + np.exp(-(z @ w)))
        grad = z.T @ (p - y) + reg * w
        hess = (z * (p * (1 - p))[:, None]).T @ z + np.diag(reg)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.max(np.abs(step)) < 1e-10:
            break
    coef = np.zeros(nf)
    coef[:k] = w[1:]
    return {"mean": mean, "scale": scale, "coef": coef, "intercept": float(w[0])}


def prob(m, x):
    return 1 / (1 + np.exp(-(m["intercept"] + ((x - m["mean"]) / m["scale"]) @ m["coef"])))


def auc(score, y):
    """ROC AUC with ties counted half (Mann-Whitney)."""
    order = np.argsort(score, kind="mergesort")
    s = score[order]
    ranks = np.empty(len(s))
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[i : j + 1] = (i + j) / 2 + 1
        i = j + 1
    r = np.empty(len(s))
    r[order] = ranks
    pos = y == 1
    n1, n0 = pos.sum(), (~pos).sum()
    return (r[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)


def clustered_interval(score, y, users, resamples=1000, seed=1):
    """95 % percentile interval of the AUC over users resampled with replacement."""
    rng = np.random.default_rng(seed)
    uniq = np.unique(users)
    idx = {u: np.flatnonzero(users == u) for u in uniq}
    vals = []
    for _ in range(resamples):
        pick = np.concatenate([idx[u] for u in rng.choice(uniq, len(uniq))])
        if 0 < y[pick].sum() < len(pick):
            vals.append(auc(score[pick], y[pick]))
    return [float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))]


def valid_scores(pv, yv, uv):
    """Valid ROC AUC of probabilities pv and its user-clustered 95 % interval."""
    return {"validAuc": float(auc(pv, yv)), "validAucInterval": clustered_interval(pv, yv, uv)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", required=True)
    ap.add_argument("--valid", required=True)
    ap.add_argument("--out", default="onnx/artifacts/churn-hazard.json")
    a = ap.parse_args()
    meta, xt, yt, _ = load(a.train)
    _, xv, yv, uv = load(a.valid)
    names = meta["features"]
    report = {}
    models = {}
    lower, upper = xt.min(0), xt.max(0)
    bounds = {"lower": lower.tolist(), "upper": upper.tolist()}
    # The valid points as the service scores them: clamped into the train range.
    xv_scored = np.clip(xv, lower, upper)
    for name, k in SETS.items():
        m = fit(xt, yt, k)
        pv = prob(m, xv_scored)
        models[name] = m
        report[name] = {**valid_scores(pv, yv, uv), "validBrier": float(np.mean((pv - yv) ** 2))}
        print(f"{name:20s} valid AUC {report[name]['validAuc']:.4f} {report[name]['validAucInterval']} Brier {report[name]['validBrier']:.4f}", flush=True)
    k = SETS["+ rhythm"]
    ht, et = load_encoder_state(a.train, meta, len(xt))
    hv, ev = load_encoder_state(a.valid, meta, len(xv))
    explored = {}
    for name, (ct, cv) in {
        "+ rhythm, + hidden state": (np.hstack([xt[:, :k], ht]), np.hstack([xv[:, :k], hv])),
        "+ rhythm, + embeddings": (np.hstack([xt[:, :k], et]), np.hstack([xv[:, :k], ev])),
        "+ rhythm, quadratic": (pairwise_products(xt[:, :k], xt[:, :k]), pairwise_products(xv[:, :k], xt[:, :k])),
        "+ rhythm, without tenure": (np.delete(xt[:, :k], 2, axis=1), np.delete(xv_scored[:, :k], 2, axis=1)),
    }.items():
        m = fit(ct, yt, ct.shape[1])
        pv = prob(m, cv)
        explored[name] = {"inputs": int(ct.shape[1]), **valid_scores(pv, yv, uv)}
        print(f"{name:26s} valid AUC {explored[name]['validAuc']:.4f} {explored[name]['validAucInterval']} (explored, {ct.shape[1]} inputs)", flush=True)
    for name, col, sign in (("idle time", 0, 1), ("events per day", 3, -1)):
        report[name] = {"validAuc": float(auc(sign * xv[:, col], yv))}
        print(f"{name:20s} valid AUC {report[name]['validAuc']:.4f}")
    chosen = max((n for n in SETS if n != "recency/frequency"), key=lambda n: report[n]["validAuc"])
    m = models[chosen]
    base = models["recency/frequency"]
    rows = np.linspace(0, len(xv) - 1, 16).astype(int)
    # Levels: the probabilities reached by 20 %, 10 % and 5 % of the training checkpoints.
    levels = [round(float(np.quantile(prob(m, xt), q)), 3) for q in (0.8, 0.9, 0.95)]
    out = {
        "version": f"hazard-{meta['modelVersion']}-{chosen.replace(' ', '').replace('+', 'plus-').replace('/', '-')}-bounded",
        "features": names,
        "featureSet": chosen,
        "trainedOn": f"{meta['users']} users ({len(xt)} checkpoints)",
        **meta["spec"],
        "mean": m["mean"].tolist(), "scale": m["scale"].tolist(), "coef": m["coef"].tolist(), "intercept": m["intercept"], **bounds,
        "levelThresholds": levels,
        "baseline": {"name": "logistic regression on recency/frequency", "mean": base["mean"].tolist(), "scale": base["scale"].tolist(),
                     "coef": base["coef"].tolist(), "intercept": base["intercept"], **bounds},
        "selection": report,
        "explored": explored,
        "golden": {"features": xv[rows].tolist(), "probabilities": prob(m, xv_scored[rows]).tolist()},
    }
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"chose '{chosen}', level thresholds {levels}; wrote {a.out}")


if __name__ == "__main__":
    main()
