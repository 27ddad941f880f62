"""Shared data loading, user split, vocabulary and features for the interest-drift encoder.

Everything here is deterministic: the same input file always gives the same split, vocabulary and tensors.
No pandas: the standard csv module and numpy are enough for ~84k rows.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import math
import os
import random
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(HERE)
DATA_FILE_NAME = "taobao-userbehavior-users.csv.gz"
DEFAULT_DATA = os.path.join("..", "shared", "data", DATA_FILE_NAME)  # relative to the repo root
DEFAULT_CHECKPOINT_DIR = os.path.join(".cache", "model")
ARTIFACTS_DIR = os.path.join(HERE, "artifacts")

# ---- protocol constants -------------------------------------------------------------------------------------
SPLIT_SEED = 20171125
TRAIN_SEED = 20171125
SPLIT_FRACTIONS = (0.70, 0.15, 0.15)

PAD_INDEX = 0
OOV_INDEX = 1
MIN_CATEGORY_COUNT = 2  # a category enters the vocabulary if it has >= 2 events among TRAIN users

EVENT_TYPE_INDEX = {"view": 1, "click": 1, "cart": 2, "favorite": 3, "purchase": 4}
TAOBAO_BEHAVIOR_TO_TYPE = {"pv": "view", "cart": "cart", "fav": "favorite", "buy": "purchase"}
NUM_EVENT_TYPES = 5  # pad + 4

GAP_CLIP_SECONDS = 30 * 24 * 3600  # 2,592,000
GAP_CLIP_LOG = math.log1p(GAP_CLIP_SECONDS)

INACTIVITY_HORIZON_S = 24 * 3600
# 2017-12-03 23:59:59 +08:00 == 2017-12-03T15:59:59Z: the last second covered by the data.
DATA_END_TS = 1512316799

OPSET = 17
MODEL_SEMVER = "1.0.0"


def set_all_seeds(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:  # pragma: no cover
        pass


def resolve(path: str) -> str:
    """Paths on the command line are relative to the repo root (where make runs), whatever the cwd."""
    return path if os.path.isabs(path) else os.path.normpath(os.path.join(REPO_ROOT, path))


def add_data_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data",
        default=DEFAULT_DATA,
        help=f"Taobao users CSV.gz (default: {DEFAULT_DATA}, relative to the repo root)",
    )


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---- data ---------------------------------------------------------------------------------------------------
@dataclass
class UserHistory:
    user_id: str
    categories: list[str]  # raw category id strings
    types: np.ndarray  # int64 event type index (1..4)
    ts: np.ndarray  # int64 unix seconds, non-decreasing


@dataclass
class Dataset:
    path: str
    sha256: str
    rows: int
    users: dict[str, UserHistory] = field(default_factory=dict)


def load_data(path: str) -> Dataset:
    path = resolve(path)
    if not os.path.exists(path):
        raise SystemExit(f"data file not found: {path} (pass --data)")
    per_user: dict[str, list[tuple[int, int, str, int]]] = {}
    rows = 0
    with gzip.open(path, "rt", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        expected = ["user_id", "item_id", "category_id", "behavior_type", "timestamp"]
        if header != expected:
            raise SystemExit(f"unexpected header {header}, expected {expected}")
        for order, (uid, _item, cat, beh, ts) in enumerate(reader):
            if beh not in TAOBAO_BEHAVIOR_TO_TYPE:
                raise SystemExit(f"unknown behavior_type {beh!r} on data row {order + 1}")
            per_user.setdefault(uid, []).append((int(ts), order, cat, EVENT_TYPE_INDEX[TAOBAO_BEHAVIOR_TO_TYPE[beh]]))
            rows += 1
    ds = Dataset(path=path, sha256=sha256_file(path), rows=rows)
    for uid, evs in per_user.items():
        evs.sort(key=lambda e: (e[0], e[1]))  # stable: ties keep file order
        ds.users[uid] = UserHistory(
            user_id=uid,
            categories=[e[2] for e in evs],
            types=np.array([e[3] for e in evs], dtype=np.int64),
            ts=np.array([e[0] for e in evs], dtype=np.int64),
        )
    return ds


def _user_sort_key(uid: str):
    return (0, int(uid), uid) if uid.isdigit() else (1, 0, uid)


def split_users(user_ids, seed: int = SPLIT_SEED) -> dict[str, list[str]]:
    """70/15/15 by user: sort ids (numerically when numeric), shuffle with numpy Generator(seed)."""
    ids = sorted(user_ids, key=_user_sort_key)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(ids))
    shuffled = [ids[i] for i in perm]
    n = len(ids)
    n_train = int(round(SPLIT_FRACTIONS[0] * n))
    n_valid = int(round(SPLIT_FRACTIONS[1] * n))
    return {
        "train": shuffled[:n_train],
        "valid": shuffled[n_train : n_train + n_valid],
        "test": shuffled[n_train + n_valid :],
    }


# ---- vocabulary ---------------------------------------------------------------------------------------------
@dataclass
class Vocab:
    ids: list[str]  # raw category id for index 2, 3, ...
    counts: list[int]  # train event count, aligned with ids
    index: dict[str, int] = field(default_factory=dict)

    def __post_init__(self):
        self.index = {c: i + 2 for i, c in enumerate(self.ids)}

    @property
    def size(self) -> int:  # V, including pad and oov
        return len(self.ids) + 2

    def encode(self, cats) -> np.ndarray:
        return np.array([self.index.get(c, OOV_INDEX) for c in cats], dtype=np.int64)


def build_vocab(ds: Dataset, train_users) -> Vocab:
    cnt: Counter[str] = Counter()
    for uid in train_users:
        cnt.update(ds.users[uid].categories)
    kept = [(c, n) for c, n in cnt.items() if n >= MIN_CATEGORY_COUNT]
    kept.sort(key=lambda cn: (-cn[1], cn[0]))
    return Vocab(ids=[c for c, _ in kept], counts=[n for _, n in kept])


# ---- features -----------------------------------------------------------------------------------------------
def log_gaps(ts: np.ndarray) -> np.ndarray:
    """log1p(seconds since the previous event of the user), clipped to [0, log1p(30 d)]; 0 for the first event."""
    gaps = np.zeros(len(ts), dtype=np.float64)
    if len(ts) > 1:
        gaps[1:] = np.diff(ts).astype(np.float64)
    gaps = np.clip(gaps, 0.0, GAP_CLIP_SECONDS)
    return np.clip(np.log1p(gaps), 0.0, GAP_CLIP_LOG).astype(np.float32)


def inactivity_labels(ts: np.ndarray, data_end: int = DATA_END_TS) -> tuple[np.ndarray, np.ndarray]:
    """Label at event t: 1 if the user's next event is more than 24 h later, or there is no next event and the data
    end is more than 24 h after t; 0 if the next event is within 24 h. Mask is 0 where the label is unknown (no
    next event and the data end is within 24 h)."""
    n = len(ts)
    label = np.zeros(n, dtype=np.float32)
    mask = np.ones(n, dtype=np.float32)
    if n > 1:
        label[:-1] = (np.diff(ts) > INACTIVITY_HORIZON_S).astype(np.float32)
    if n > 0:
        if data_end - ts[-1] > INACTIVITY_HORIZON_S:
            label[-1] = 1.0
        else:
            mask[-1] = 0.0
    return label, mask


@dataclass
class EncodedUser:
    user_id: str
    cat: np.ndarray  # int64 [n]
    typ: np.ndarray  # int64 [n]
    gap: np.ndarray  # float32 [n]
    ts: np.ndarray  # int64 [n]
    raw_cats: list[str]
    inact: np.ndarray  # float32 [n]
    inact_mask: np.ndarray  # float32 [n]


def encode_users(ds: Dataset, users, vocab: Vocab) -> list[EncodedUser]:
    out = []
    for uid in users:
        u = ds.users[uid]
        lab, mask = inactivity_labels(u.ts)
        out.append(
            EncodedUser(
                user_id=uid,
                cat=vocab.encode(u.categories),
                typ=u.types.copy(),
                gap=log_gaps(u.ts),
                ts=u.ts,
                raw_cats=u.categories,
                inact=lab,
                inact_mask=mask,
            )
        )
    return out


def pad_batch(users: list[EncodedUser]):
    """Right-padded arrays: cat/typ int64 [B,T] (0 = pad), gap float32 [B,T], lengths int32 [B]."""
    T = max(len(u.cat) for u in users)
    B = len(users)
    cat = np.zeros((B, T), dtype=np.int64)
    typ = np.zeros((B, T), dtype=np.int64)
    gap = np.zeros((B, T), dtype=np.float32)
    lengths = np.zeros(B, dtype=np.int32)
    for i, u in enumerate(users):
        n = len(u.cat)
        cat[i, :n] = u.cat
        typ[i, :n] = u.typ
        gap[i, :n] = u.gap
        lengths[i] = n
    return cat, typ, gap, lengths


def prepare(data_path: str):
    """Load, split, build vocab. Returns (dataset, split, vocab)."""
    ds = load_data(data_path)
    split = split_users(ds.users.keys())
    vocab = build_vocab(ds, split["train"])
    return ds, split, vocab
