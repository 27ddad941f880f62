"""Evaluate the exported encoder (onnx/artifacts/encoder.onnx, through onnxruntime) on the TEST users.

    .cache/venv/bin/python onnx/model_eval.py [--data ...] [--model onnx/artifacts/encoder.onnx]
                                              [--meta onnx/artifacts/encoder.meta.json] [--out onnx/artifacts/metrics.json]

Protocol (everything measured here, nothing copied from elsewhere):
  * Test users = the 15 % user split (common.split_users); vocabulary and popularity from TRAIN users only, and the
    vocabulary in the metadata must equal the one rebuilt from the data.
  * The encoder is run the way the service runs it: incrementally, one event per call, carrying h (all test users
    in one batch, one call per time step). Its state after event t-1 predicts the category of event t, for every
    t >= 1 of every test user (i.e. every event but the user's first).
  * All methods rank the in-vocabulary categories (indices >= 2; pad/oov are never recommended) and produce a
    top-10 list. HR@10 = target in the list; NDCG@10 = 1/log2(1 + rank). A position whose true next category is
    out of vocabulary is a miss for every method.
  * Baselines on the same positions: global popularity (train counts); the user's most-frequent category so far
    (ties and fill by popularity); last category (then popularity); first-order Markov chain of train
    transitions (then popularity; popularity when the current category is oov).
  * Inactivity head: ROC AUC over every test event with a known 24 h label (see common.inactivity_labels), against
    recency-only baselines: the raw time since the previous event, and that time mapped through the positive
    rate per log-gap bin fitted on TRAIN users (a train-calibrated recency model).
Writes metrics.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import Counter, defaultdict

import numpy as np
from sklearn.metrics import roc_auc_score

from common import OOV_INDEX, add_data_arg, encode_users, prepare, resolve, sha256_file

K = 10


def ranked_top(scores_row: np.ndarray, k=K) -> np.ndarray:
    """Top-k vocab indices (>= 2) by score, ties by index (= by train popularity)."""
    return np.argsort(-scores_row[2:], kind="stable")[:k] + 2


def fill(first: list[int], pop: list[int], k=K) -> list[int]:
    out = []
    seen = set()
    for c in first:
        if c >= 2 and c not in seen:
            out.append(c)
            seen.add(c)
            if len(out) == k:
                return out
    for c in pop:
        if c not in seen:
            out.append(c)
            seen.add(c)
            if len(out) == k:
                break
    return out


class Scorer:
    def __init__(self):
        self.hits = 0
        self.ndcg = 0.0
        self.n = 0

    def add(self, top: list[int] | np.ndarray, target: int):
        self.n += 1
        if target < 2:
            return  # oov target: a miss
        for r, c in enumerate(top[:K]):
            if c == target:
                self.hits += 1
                self.ndcg += 1.0 / np.log2(r + 2)
                return

    def result(self):
        return {"hr@10": self.hits / self.n, "ndcg@10": self.ndcg / self.n}


def run_incremental(sess, users, H):
    """One ORT call per time step for all users at once (T=1), carrying h; returns per-user arrays of next logits
    and inactivity logits after each event."""
    B = len(users)
    Tmax = max(len(u.cat) for u in users)
    h = np.zeros((B, H), np.float32)
    logits = [np.zeros((len(u.cat), 0), np.float32) for u in users]
    V = None
    inact = [np.zeros(len(u.cat), np.float32) for u in users]
    lens = np.array([len(u.cat) for u in users])
    for t in range(Tmax):
        act = np.flatnonzero(lens > t)
        cat = np.array([[users[i].cat[t]] for i in act], np.int64)
        typ = np.array([[users[i].typ[t]] for i in act], np.int64)
        gap = np.array([[users[i].gap[t]] for i in act], np.float32)
        out = sess.run(
            None,
            {"category_ids": cat, "event_types": typ, "log_gaps": gap, "lengths": np.ones(len(act), np.int32), "h0": h[act]},
        )
        o = dict(zip([x.name for x in sess.get_outputs()], out))
        h[act] = o["h"]
        if V is None:
            V = o["next_category_logits"].shape[1]
            logits = [np.zeros((len(u.cat), V), np.float32) for u in users]
        for j, i in enumerate(act):
            logits[i][t] = o["next_category_logits"][j]
            inact[i][t] = o["inactivity_logit"][j]
    return logits, inact, h


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_arg(p)
    p.add_argument("--model", default=os.path.join("onnx", "artifacts", "encoder.onnx"))
    p.add_argument("--meta", default=os.path.join("onnx", "artifacts", "encoder.meta.json"))
    p.add_argument("--out", default=os.path.join("onnx", "artifacts", "metrics.json"))
    p.add_argument("--split", default="test", choices=["test", "valid"], help="valid: for model selection only")
    args = p.parse_args()
    t0 = time.time()

    import onnxruntime as ort

    model_path, meta_path = resolve(args.model), resolve(args.meta)
    meta = json.load(open(meta_path))
    ds, split, vocab = prepare(args.data)
    if meta["categoryVocab"]["ids"] != vocab.ids:
        raise SystemExit("metadata vocabulary differs from the one rebuilt from the data")
    if meta["training"]["sha256"] != ds.sha256:
        raise SystemExit("data sha256 differs from the training data recorded in the metadata")
    H = meta["hiddenSize"]
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    sess = ort.InferenceSession(model_path, so, providers=["CPUExecutionProvider"])

    train = encode_users(ds, split["train"], vocab)
    test = encode_users(ds, split[args.split], vocab)

    # ---- train statistics for the baselines ----
    pop_counts = np.zeros(vocab.size, np.int64)
    trans: dict[int, Counter] = defaultdict(Counter)
    for u in train:
        np.add.at(pop_counts, u.cat, 1)
        for a, b in zip(u.cat[:-1], u.cat[1:]):
            if a >= 2 and b >= 2:
                trans[int(a)][int(b)] += 1
    pop = [int(i) for i in sorted(range(2, vocab.size), key=lambda i: (-pop_counts[i], i))]
    pop_rank = {c: r for r, c in enumerate(pop)}
    pop_top = pop[:K]
    markov_top = {a: fill([b for b, _ in sorted(cn.items(), key=lambda kv: (-kv[1], pop_rank[kv[0]]))[:K]], pop) for a, cn in trans.items()}

    # ---- encoder, incrementally ----
    logits, inact_logit, _ = run_incremental(sess, test, H)

    scorers = {name: Scorer() for name in ["encoder", "popularity", "most_frequent_so_far", "last_category", "markov_1"]}
    n_oov_targets = 0
    for ui, u in enumerate(test):
        counts: Counter = Counter()
        for t in range(1, len(u.cat)):
            prev, target = int(u.cat[t - 1]), int(u.cat[t])
            if prev >= 2:
                counts[prev] += 1
            n_oov_targets += target == OOV_INDEX
            scorers["encoder"].add(ranked_top(logits[ui][t - 1]), target)
            scorers["popularity"].add(pop_top, target)
            mf = [c for c, _ in sorted(counts.items(), key=lambda kv: (-kv[1], pop_rank[kv[0]]))[:K]]
            scorers["most_frequent_so_far"].add(fill(mf, pop), target)
            scorers["last_category"].add(fill([prev], pop), target)
            scorers["markov_1"].add(markov_top.get(prev, pop_top), target)
    n_pos = scorers["encoder"].n

    # ---- inactivity ----
    def gather(users, fn):
        return np.concatenate([fn(i, u)[u.inact_mask > 0] for i, u in enumerate(users)])

    y = gather(test, lambda i, u: u.inact)
    s_enc = gather(test, lambda i, u: inact_logit[i])
    s_gap = gather(test, lambda i, u: u.gap)
    # train-calibrated recency: positive rate per log-gap bin (width 0.5 nats), Laplace-smoothed
    bins = np.arange(0.0, 15.5, 0.5)
    y_tr = gather(train, lambda i, u: u.inact)
    g_tr = gather(train, lambda i, u: u.gap)
    b_tr = np.digitize(g_tr, bins)
    prior = y_tr.mean()
    rate = {b: (y_tr[b_tr == b].sum() + prior * 2) / ((b_tr == b).sum() + 2) for b in np.unique(np.digitize(np.r_[g_tr, s_gap], bins))}
    s_gapcal = np.array([rate[b] for b in np.digitize(s_gap, bins)])
    auc = {
        "encoder": roc_auc_score(y, s_enc),
        "recency_raw": roc_auc_score(y, s_gap),
        "recency_train_calibrated": roc_auc_score(y, s_gapcal),
    }

    rec = {name: sc.result() for name, sc in scorers.items()}
    metrics = {
        "model": os.path.basename(model_path),
        "modelVersion": meta["modelVersion"],
        "modelSha256": sha256_file(model_path),
        "data": {"file": os.path.basename(ds.path), "sha256": ds.sha256},
        "split": args.split,
        "testUsers": len(test),
        "nextCategory": {
            "k": K,
            "positions": n_pos,
            "oovTargetPositions": n_oov_targets,
            "oovTargetShare": n_oov_targets / n_pos,
            "methods": rec,
            "encoderBeatsAllBaselinesOnHR10": all(rec["encoder"]["hr@10"] > v["hr@10"] for k, v in rec.items() if k != "encoder"),
        },
        "inactivity": {
            "positions": int(len(y)),
            "positives": int(y.sum()),
            "positiveRate": float(y.mean()),
            "rocAuc": auc,
        },
        "protocol": "see onnx/model_eval.py docstring and onnx/README.md",
    }

    def r(x, n=6):
        return float(f"{x:.{n}g}")

    def rnd(o):
        if isinstance(o, dict):
            return {k: rnd(v) for k, v in o.items()}
        if isinstance(o, float):
            return r(o)
        return o

    metrics = rnd(metrics)
    out = resolve(args.out)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(metrics, f, indent=1, sort_keys=True)
        f.write("\n")

    names = {
        "encoder": "GRU encoder (ONNX, incremental)",
        "popularity": "global popularity (train)",
        "most_frequent_so_far": "user's most frequent category so far",
        "last_category": "last category",
        "markov_1": "first-order Markov (train transitions)",
    }
    print(f"\n{args.split.capitalize()} users: {len(test)}; next-category positions: {n_pos} (every event but each user's first); "
          f"true next category out of vocabulary: {n_oov_targets} ({100 * n_oov_targets / n_pos:.1f} %, a miss for every method)\n")
    print("| next category (test) | HR@10 | NDCG@10 |")
    print("| --- | ---: | ---: |")
    for k, v in rec.items():
        print(f"| {names[k]} | {v['hr@10']:.4f} | {v['ndcg@10']:.4f} |")
    print(f"\nInactivity (no event within 24 h after the event): {len(y)} test events with a known label, "
          f"positive rate {y.mean():.4f} ({int(y.sum())} positives)\n")
    print("| inactivity score (test) | ROC AUC |")
    print("| --- | ---: |")
    print(f"| GRU encoder inactivity head | {auc['encoder']:.4f} |")
    print(f"| recency only: time since previous event | {auc['recency_raw']:.4f} |")
    print(f"| recency only: train-calibrated rate per log-gap bin | {auc['recency_train_calibrated']:.4f} |")
    print(f"\nencoder beats every baseline on HR@10: {metrics['nextCategory']['encoderBeatsAllBaselinesOnHR10']}")
    print(f"model {metrics['modelVersion']}; wrote {os.path.relpath(out, resolve('.'))}; {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
