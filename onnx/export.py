"""Export the trained encoder to ONNX for incremental inference, validate it, fit segments, write metadata + goldens.

    .cache/venv/bin/python onnx/export.py [--checkpoint .cache/model/encoder.pt] [--data ...] [--out onnx/artifacts]
                                          [--skip-validation]

Writes (under --out):
  encoder.onnx                 hand-built opset-17 graph (see encoder_graph.py), I/O contract in README.md
  encoder.meta.json            vocabulary, event-type map, gap feature, inactivity protocol, segments, provenance
  golden/encoder-golden.json   inputs + onnxruntime outputs for the TypeScript runtime tests
Validation (default on; any failure -> exit 1, nothing is left half-written):
  * onnxruntime vs PyTorch (pack_padded_sequence from h0, and a step-by-step loop) on random and real batches with
    mixed lengths and nonzero h0, all four outputs, max |diff| <= 1e-4;
  * padding invariance: garbage in positions >= length changes nothing (<= 1e-6);
  * incrementality: 3 chunk calls carrying h == one call (<= 1e-5), in onnxruntime and in PyTorch.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections import Counter

import numpy as np
import onnxruntime as ort
import torch

from common import (
    DATA_END_TS,
    DATA_FILE_NAME,
    DEFAULT_CHECKPOINT_DIR,
    EVENT_TYPE_INDEX,
    GAP_CLIP_SECONDS,
    INACTIVITY_HORIZON_S,
    MODEL_SEMVER,
    OOV_INDEX,
    PAD_INDEX,
    TRAIN_SEED,
    add_data_arg,
    encode_users,
    pad_batch,
    prepare,
    resolve,
    sha256_file,
)
from encoder_graph import OPSET, build_model, io_spec, save_model, weights_from_torch
from model import GAP_SCALE, L2_EPS, load_checkpoint

OUTPUT_NAMES = ["h", "embedding", "next_category_logits", "inactivity_logit"]
TOL_TORCH = 1e-4
TOL_INCREMENTAL = 1e-5
TOL_PADDING = 1e-6
N_SEGMENTS = 24

INACTIVITY_DEFINITION = (
    "Proxy label (nobody churns within the 9-day sample): inactivity_logit at an event is the logit of P(the user "
    "has NO further event within 24 h after this event). Trained with label 1 when the user's next event is more than "
    "24 h later, or there is no next event and the end of the data (2017-12-03 23:59:59 +08) is more than 24 h "
    "later; label 0 when the next event is within 24 h; positions with no next event and less than 24 h of data "
    "left are masked out."
)


def session(path_or_bytes, threads: int = 2) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(path_or_bytes, so, providers=["CPUExecutionProvider"])


def ort_run(sess, cat, typ, gap, lengths, h0) -> dict[str, np.ndarray]:
    out = sess.run(
        OUTPUT_NAMES,
        {
            "category_ids": np.ascontiguousarray(cat, dtype=np.int64),
            "event_types": np.ascontiguousarray(typ, dtype=np.int64),
            "log_gaps": np.ascontiguousarray(gap, dtype=np.float32),
            "lengths": np.ascontiguousarray(lengths, dtype=np.int32),
            "h0": np.ascontiguousarray(h0, dtype=np.float32),
        },
    )
    return dict(zip(OUTPUT_NAMES, out))


def torch_run(model, cat, typ, gap, lengths, h0, stepwise=False) -> dict[str, np.ndarray]:
    fn = model.reference_stepwise if stepwise else model.reference
    out = fn(torch.from_numpy(cat), torch.from_numpy(typ), torch.from_numpy(gap), torch.from_numpy(lengths.astype(np.int64)), torch.from_numpy(h0))
    return {k: v.numpy() for k, v in out.items()}


def max_diff(a: dict, b: dict) -> dict[str, float]:
    return {k: float(np.max(np.abs(a[k].astype(np.float64) - b[k].astype(np.float64)))) for k in OUTPUT_NAMES}


# ---- validation ---------------------------------------------------------------------------------------------
class Validator:
    def __init__(self):
        self.failures = []
        self.report = []

    def check(self, name, diffs: dict, tol: float):
        worst = max(diffs.values())
        ok = worst <= tol
        self.report.append((name, worst, tol, ok))
        print(f"  [{'ok' if ok else 'FAIL'}] {name}: max|diff| = {worst:.3g} (tol {tol:g}) " + json.dumps({k: float(f'{v:.3g}') for k, v in diffs.items()}))
        if not ok:
            self.failures.append(name)


def random_batch(rng, B, T, V, H, h0_scale=0.5, min_len=1):
    cat = rng.integers(0, V, size=(B, T), dtype=np.int64)
    typ = rng.integers(1, 5, size=(B, T), dtype=np.int64)
    gap = rng.uniform(0, np.log1p(GAP_CLIP_SECONDS), size=(B, T)).astype(np.float32)
    lengths = rng.integers(min_len, T + 1, size=B).astype(np.int32)
    lengths[0] = T  # at least one full row
    for i in range(B):  # zero the padding like the runtime does
        cat[i, lengths[i] :] = PAD_INDEX
        typ[i, lengths[i] :] = 0
        gap[i, lengths[i] :] = 0
    h0 = (rng.standard_normal((B, H)) * h0_scale).astype(np.float32)
    return cat, typ, gap, lengths, h0


def slice_users(users, starts, lens):
    """Sub-histories users[i][starts[i] : starts[i] + lens[i]] as a padded batch."""
    B, T = len(users), max(lens)
    cat = np.zeros((B, T), np.int64)
    typ = np.zeros((B, T), np.int64)
    gap = np.zeros((B, T), np.float32)
    for i, (u, s, n) in enumerate(zip(users, starts, lens)):
        cat[i, :n] = u.cat[s : s + n]
        typ[i, :n] = u.typ[s : s + n]
        gap[i, :n] = u.gap[s : s + n]
    return cat, typ, gap, np.array(lens, dtype=np.int32)


def prefix_states(model, users, starts, H):
    """PyTorch state after events [0, start) of each user (zeros when start == 0)."""
    h = np.zeros((len(users), H), np.float32)
    todo = [i for i, s in enumerate(starts) if s > 0]
    if todo:
        cat, typ, gap, lengths = slice_users([users[i] for i in todo], [0] * len(todo), [starts[i] for i in todo])
        r = torch_run(model, cat, typ, gap, lengths, np.zeros((len(todo), H), np.float32))
        h[todo] = r["h"]
    return h


def real_batch(rng, users, B, T, model, H, min_len=1):
    pool = [u for u in users if len(u.cat) >= min_len]
    chosen = [pool[i] for i in rng.choice(len(pool), size=B, replace=False)]
    starts, lens = [], []
    for u in chosen:
        n = len(u.cat)
        L = int(rng.integers(min_len, min(T, n) + 1))
        s = int(rng.integers(0, n - L + 1))
        starts.append(s)
        lens.append(L)
    lens[0] = min(T, len(chosen[0].cat))
    starts[0] = len(chosen[0].cat) - lens[0]
    cat, typ, gap, lengths = slice_users(chosen, starts, lens)
    h0 = prefix_states(model, chosen, starts, H)
    return cat, typ, gap, lengths, h0


def chunked(sess_or_model, cat, typ, gap, lengths, h0, cuts, use_torch=False):
    """Feed each row's valid events in len(cuts)+1 consecutive chunks, carrying h. Rows are processed one by one so
    that every chunk of every row is non-empty (lengths >= 1 is part of the contract)."""
    outs = []
    for i in range(cat.shape[0]):
        n = int(lengths[i])
        bounds = [0] + [c for c in cuts if 0 < c < n] + [n]
        h = h0[i : i + 1]
        for a, b in zip(bounds[:-1], bounds[1:]):
            args = (cat[i : i + 1, a:b], typ[i : i + 1, a:b], gap[i : i + 1, a:b], np.array([b - a], np.int32), h)
            r = torch_run(sess_or_model, *args) if use_torch else ort_run(sess_or_model, *args)
            h = r["h"]
        outs.append(r)
    return {k: np.concatenate([o[k] for o in outs], axis=0) for k in OUTPUT_NAMES}


def validate(sess, model, valid_users, H, V, seed) -> Validator:
    v = Validator()
    rng = np.random.default_rng(seed)
    print("validation: onnxruntime vs PyTorch")
    for B, T in [(1, 1), (3, 5), (8, 17), (32, 64), (5, 200)]:
        batch = random_batch(rng, B, T, V, H)
        o = ort_run(sess, *batch)
        v.check(f"random B={B} T={T} vs torch(packed)", max_diff(o, torch_run(model, *batch)), TOL_TORCH)
        v.check(f"random B={B} T={T} vs torch(stepwise)", max_diff(o, torch_run(model, *batch, stepwise=True)), TOL_TORCH)
    for B, T in [(1, 1), (4, 7), (16, 40), (64, 128)]:
        batch = real_batch(rng, valid_users, B, T, model, H)
        o = ort_run(sess, *batch)
        nz = float(np.abs(batch[4]).max())
        v.check(f"real B={B} T={T} (max|h0|={nz:.2f}) vs torch(packed)", max_diff(o, torch_run(model, *batch)), TOL_TORCH)
        v.check(f"real B={B} T={T} vs torch(stepwise)", max_diff(o, torch_run(model, *batch, stepwise=True)), TOL_TORCH)
    # full histories from zero, the longest valid users included
    longest = sorted(valid_users, key=lambda u: -len(u.cat))[:8]
    cat, typ, gap, lengths = pad_batch(longest)
    h0 = np.zeros((len(longest), H), np.float32)
    v.check(f"real full histories B=8 T={cat.shape[1]} from h0=0", max_diff(ort_run(sess, cat, typ, gap, lengths, h0), torch_run(model, cat, typ, gap, lengths, h0)), TOL_TORCH)

    print("validation: padding invariance (garbage after length)")
    for batch in [random_batch(rng, 8, 20, V, H), real_batch(rng, valid_users, 8, 30, model, H)]:
        cat, typ, gap, lengths, h0 = batch
        g_cat, g_typ, g_gap = cat.copy(), typ.copy(), gap.copy()
        for i in range(cat.shape[0]):
            L = lengths[i]
            g_cat[i, L:] = rng.integers(0, V, size=cat.shape[1] - L)
            g_typ[i, L:] = rng.integers(0, 5, size=cat.shape[1] - L)
            g_gap[i, L:] = rng.uniform(0, 15, size=cat.shape[1] - L)
        v.check(f"padding garbage B={cat.shape[0]} T={cat.shape[1]}", max_diff(ort_run(sess, *batch), ort_run(sess, g_cat, g_typ, g_gap, lengths, h0)), TOL_PADDING)

    print("validation: incrementality (3 chunks carrying h == 1 call)")
    for name, batch in [
        ("real", real_batch(rng, valid_users, 6, 90, model, H, min_len=61)),
        ("random", random_batch(rng, 6, 90, V, H, min_len=61)),
    ]:
        cat, typ, gap, lengths, h0 = batch
        one = ort_run(sess, cat, typ, gap, lengths, h0)
        cuts = [30, 60]  # every row has >= 61 events, so each row is fed as 3 non-empty chunks
        v.check(f"incremental onnxruntime {name}", max_diff(one, chunked(sess, cat, typ, gap, lengths, h0, cuts)), TOL_INCREMENTAL)
        t_one = torch_run(model, cat, typ, gap, lengths, h0)
        v.check(f"incremental torch {name}", max_diff(t_one, chunked(model, cat, typ, gap, lengths, h0, cuts, use_torch=True)), TOL_INCREMENTAL)
    return v


# ---- golden vectors -----------------------------------------------------------------------------------------
def fnum(x) -> float:
    return float(f"{float(x):.9g}")  # 9 significant digits round-trips float32


def jarr(a: np.ndarray):
    if a.dtype.kind in "iu":
        return a.astype(np.int64).tolist()
    return np.vectorize(fnum, otypes=[object])(a).tolist() if a.size else a.tolist()


def golden_io(sess, cat, typ, gap, lengths, h0):
    out = ort_run(sess, cat, typ, gap, lengths, h0)
    inputs = {"category_ids": jarr(cat), "event_types": jarr(typ), "log_gaps": jarr(gap.astype(np.float32)), "lengths": jarr(lengths), "h0": jarr(h0.astype(np.float32))}
    return {"inputs": inputs, "outputs": {k: jarr(out[k]) for k in OUTPUT_NAMES}}, out


def make_golden(sess, model_version, test_users, H, V, ds):
    rng = np.random.default_rng(7)
    cases = []
    u0 = test_users[0]
    g, _ = golden_io(sess, u0.cat[:1][None], u0.typ[:1][None], u0.gap[:1][None], np.array([1], np.int32), np.zeros((1, H), np.float32))
    cases.append({"name": "single_event_zero_h0", "description": f"B=1 T=1: first event of test user {u0.user_id}, h0 = 0", **g})

    four = [u for u in test_users if len(u.cat) >= 20][:4]
    starts, lens = [10, 10, 10, 10], [7, 3, 1, 5]
    cat, typ, gap, lengths = slice_users(four, starts, lens)
    # nonzero h0: the state after each user's first 10 events (onnxruntime)
    c0, t0, g0, l0 = slice_users(four, [0] * 4, [10] * 4)
    h0 = ort_run(sess, c0, t0, g0, l0, np.zeros((4, H), np.float32))["h"]
    g, _ = golden_io(sess, cat, typ, gap, lengths, h0)
    cases.append({"name": "mixed_lengths_nonzero_h0", "description": "B=4 T=7 lengths [7,3,1,5]: events 10.. of 4 test users; h0 = onnxruntime state after their first 10 events", **g})

    cat = np.array([[1, 1, 5, 1], [2, 1, 0, 0], [1, 0, 0, 0]], np.int64)
    typ = np.array([[1, 2, 1, 4], [3, 1, 0, 0], [1, 0, 0, 0]], np.int64)
    gap = np.array([[0.0, 3.5, 1.25, 9.0], [11.0, 0.5, 0, 0], [14.7, 0, 0, 0]], np.float32)
    lengths = np.array([4, 2, 1], np.int32)
    h0 = np.zeros((3, H), np.float32)
    h0[1] = (rng.standard_normal(H) * 0.3).astype(np.float32)
    g, _ = golden_io(sess, cat, typ, gap, lengths, h0)
    cases.append({"name": "oov_ids", "description": "B=3 T=4 with out-of-vocabulary category index 1 in every row; row 1 has a random nonzero h0", **g})

    # incremental: one real test user, ~30 events, single call vs 3 chunk calls
    u = next(x for x in test_users if len(x.cat) >= 30)
    n = 30
    # Only model-index tensors go into the repository: no user id, raw category id or timestamp of
    # the (non-redistributable) dataset.
    single, single_out = golden_io(sess, u.cat[:n][None], u.typ[:n][None], u.gap[:n][None], np.array([n], np.int32), np.zeros((1, H), np.float32))
    chunks, h = [], np.zeros((1, H), np.float32)
    for a, b in [(0, 12), (12, 21), (21, 30)]:
        g, out = golden_io(sess, u.cat[a:b][None], u.typ[a:b][None], u.gap[a:b][None], np.array([b - a], np.int32), h)
        chunks.append({"events": [a, b], **g})
        h = out["h"]
    diff = max(float(np.abs(out[k] - single_out[k]).max()) for k in OUTPUT_NAMES)
    incremental = {
        "name": "incremental",
        "description": f"a test user's first {n} events (model indices): one call from h0 = 0, and 3 calls (events [0,12), [12,21), [21,30)) each fed the previous call's h; the final outputs of both must agree. log_gaps of a chunk's first event is measured from the previous chunk's last event.",
        "single": single,
        "chunks": chunks,
        "maxAbsDiffChunkedVsSingle": float(f"{diff:.3g}"),
    }
    return {
        "modelVersion": model_version,
        "model": "encoder.onnx",
        "tolerance": {"absolute": 1e-4},
        "floatFormat": "float32 values printed with 9 significant digits",
        "cases": cases,
        "incremental": incremental,
    }


# ---- segments -----------------------------------------------------------------------------------------------
def fit_segments(sess, train_users, H, k, seed):
    from sklearn.cluster import KMeans

    emb = np.zeros((len(train_users), sess.get_outputs()[1].shape[1]), np.float32)
    order = sorted(range(len(train_users)), key=lambda i: len(train_users[i].cat))
    for s in range(0, len(order), 64):
        idx = order[s : s + 64]
        cat, typ, gap, lengths = pad_batch([train_users[i] for i in idx])
        emb[idx] = ort_run(sess, cat, typ, gap, lengths, np.zeros((len(idx), H), np.float32))["embedding"]
    km = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(emb.astype(np.float64))
    labels = km.labels_
    segs = []
    for c in range(k):
        members = [train_users[i] for i in np.flatnonzero(labels == c)]
        cnt = Counter()
        total = 0
        for u in members:
            cnt.update(u.raw_cats)
            total += len(u.raw_cats)
        top = sorted(cnt.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        cen = km.cluster_centers_[c]
        cen = cen / max(np.linalg.norm(cen), 1e-12)
        segs.append(
            {
                "centroid": [round(float(x), 6) for x in cen],
                "label": "cat " + " / ".join(cid for cid, _ in top),
                "topCategories": [{"id": cid, "share": round(n / total, 4)} for cid, n in top],
                "trainUsers": len(members),
                "_key": (-len(members), [round(float(x), 6) for x in cen]),
            }
        )
    segs.sort(key=lambda s: s["_key"])  # id 0 = largest segment
    for i, s in enumerate(segs):
        del s["_key"]
        s["id"] = i
    # cosine similarity of each user to its nearest normalised centroid (reported, helps the runtime pick thresholds)
    C = np.array([s["centroid"] for s in segs])
    sims = (emb @ C.T).max(axis=1)
    stats = {"inertia": float(km.inertia_), "nearestCentroidCosine": {"p10": float(np.percentile(sims, 10)), "median": float(np.median(sims)), "p90": float(np.percentile(sims, 90))}}
    return segs, stats


# ---- main ---------------------------------------------------------------------------------------------------
def build_meta(model_version, H, E, V, vocab_ids, segments, training):
    inputs, outputs = io_spec(H, E, V)
    return {
        "modelVersion": model_version,
        "opset": OPSET,
        "createdBy": "onnx/export.py",
        "inputs": inputs,
        "outputs": outputs,
        "hiddenSize": H,
        "embeddingDim": E,
        "categoryVocab": {"padIndex": PAD_INDEX, "oovIndex": OOV_INDEX, "size": V, "ids": vocab_ids},
        "eventTypeIndex": dict(EVENT_TYPE_INDEX),
        "gapFeature": {"kind": "log1p_seconds", "clipSeconds": GAP_CLIP_SECONDS, "firstEvent": 0},
        "inactivity": {"horizonMs": INACTIVITY_HORIZON_S * 1000, "definition": INACTIVITY_DEFINITION},
        "segments": segments,
        "training": training,
    }


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, sort_keys=True, separators=(",", ":") if os.path.basename(path).startswith("encoder-golden") else (",", ": "), indent=None if "golden" in path else 1)
        f.write("\n")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_arg(p)
    p.add_argument("--checkpoint", default=os.path.join(DEFAULT_CHECKPOINT_DIR, "encoder.pt"))
    p.add_argument("--out", default=os.path.join("onnx", "artifacts"), help="artifacts folder (default onnx/artifacts)")
    p.add_argument("--skip-validation", action="store_true")
    p.add_argument("--segments", type=int, default=N_SEGMENTS)
    p.add_argument("--seed", type=int, default=TRAIN_SEED)
    args = p.parse_args()
    torch.set_num_threads(2)

    model, ck = load_checkpoint(resolve(args.checkpoint))
    ds, split, vocab = prepare(args.data)
    if vocab.ids != ck["vocab_ids"]:
        raise SystemExit("vocabulary rebuilt from the data differs from the checkpoint's: wrong data file?")
    if ds.sha256 != ck["training"]["sha256"]:
        raise SystemExit("data file sha256 differs from the one the checkpoint was trained on")
    H, V, E = model.cfg.hidden, vocab.size, model.cfg.embed_dim

    w = weights_from_torch(model)
    onnx_model = build_model(w, GAP_SCALE, L2_EPS, doc="interest-drift GRU user encoder (incremental); see onnx/README.md")
    out_dir = resolve(args.out)
    os.makedirs(os.path.join(out_dir, "golden"), exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_onnx = os.path.join(tmp, "encoder.onnx")
        save_model(onnx_model, tmp_onnx)
        sess = session(tmp_onnx)
        valid_users = encode_users(ds, split["valid"], vocab)
        if args.skip_validation:
            print("validation SKIPPED (--skip-validation)")
        else:
            v = validate(sess, model, valid_users, H, V, args.seed)
            if v.failures:
                print(f"VALIDATION FAILED ({len(v.failures)}): {v.failures}; nothing written", file=sys.stderr)
                sys.exit(1)
            print(f"validation passed: {len(v.report)} checks")
        onnx_path = os.path.join(out_dir, "encoder.onnx")
        with open(tmp_onnx, "rb") as src, open(onnx_path, "wb") as dst:
            dst.write(src.read())
    sha = sha256_file(onnx_path)
    model_version = f"{MODEL_SEMVER}+{sha[:8]}"
    sess = session(onnx_path)

    train_users = encode_users(ds, split["train"], vocab)
    test_users = encode_users(ds, split["test"], vocab)
    segments, seg_stats = fit_segments(sess, train_users, H, args.segments, args.seed)

    tr = ck["training"]
    training = {
        "dataFile": DATA_FILE_NAME,
        "sha256": ds.sha256,
        "rows": ds.rows,
        "users": len(ds.users),
        "split": tr["split"],
        "epochs": tr["epochs"],
        "bestEpoch": tr["bestEpoch"],
        "seed": tr["seed"],
        "dataEndTs": DATA_END_TS,
        "tbpttChunk": tr["chunk"],
        "segmentsKMeans": {"k": args.segments, "nInit": 10, "seed": args.seed, **seg_stats},
    }
    meta = build_meta(model_version, H, E, V, vocab.ids, segments, training)
    write_json(os.path.join(out_dir, "encoder.meta.json"), meta)
    golden = make_golden(sess, model_version, test_users, H, V, ds)
    write_json(os.path.join(out_dir, "golden", "encoder-golden.json"), golden)
    for name in ["encoder.onnx", "encoder.meta.json", os.path.join("golden", "encoder-golden.json")]:
        path = os.path.join(out_dir, name)
        print(f"wrote {os.path.relpath(path, resolve('.'))} ({os.path.getsize(path)} bytes)")
    print(f"modelVersion {model_version}; encoder.onnx sha256 {sha}")
    print("segments (id, train users, label): " + "; ".join(f"{s['id']}:{s['trainUsers']} {s['label']}" for s in segments))


if __name__ == "__main__":
    main()
