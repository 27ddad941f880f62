"""Train the interest-drift GRU encoder on the Taobao users sample.

    .cache/venv/bin/python onnx/train.py [--data ../shared/data/taobao-userbehavior-users.csv.gz] [--out .cache/model]

Protocol
  * Users split 70/15/15 (common.split_users, seed 20171125); vocabulary from TRAIN users only.
  * Truncated BPTT with carried state: each minibatch holds whole user histories (right-padded); the GRU walks them
    in chunks of --chunk events, carrying the hidden state (detached) from chunk to chunk, so the model is trained
    on exactly the state it will see in production (h starts at zero at the user's first event and is carried
    forever after). Gradients flow at most --chunk steps back.
  * Loss = CE(next category of event t+1 | state after event t) + --inact-weight * BCE(inactivity label at t),
    padding and unknown inactivity labels masked (see common.inactivity_labels).
  * Adam, gradient-norm clipping, early stopping on the VALID next-category CE (full histories, h0 = 0).
  * Deterministic: fixed seeds, torch.use_deterministic_algorithms(True), 2 threads.
Writes <out>/encoder.pt (state dict + config + vocabulary + training record).
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from common import (
    DATA_FILE_NAME,
    DEFAULT_CHECKPOINT_DIR,
    SPLIT_SEED,
    TRAIN_SEED,
    add_data_arg,
    encode_users,
    pad_batch,
    prepare,
    resolve,
    set_all_seeds,
)
from model import Encoder, EncoderConfig

IGNORE = -100


def batch_tensors(users):
    cat, typ, gap, lengths = pad_batch(users)
    B, T = cat.shape
    tgt = np.full((B, T), IGNORE, dtype=np.int64)
    inact = np.zeros((B, T), dtype=np.float32)
    imask = np.zeros((B, T), dtype=np.float32)
    for i, u in enumerate(users):
        n = len(u.cat)
        tgt[i, : n - 1] = u.cat[1:]
        inact[i, :n] = u.inact
        imask[i, :n] = u.inact_mask
    return {
        "cat": torch.from_numpy(cat),
        "typ": torch.from_numpy(typ),
        "gap": torch.from_numpy(gap),
        "lengths": torch.from_numpy(lengths),
        "tgt": torch.from_numpy(tgt),
        "inact": torch.from_numpy(inact),
        "imask": torch.from_numpy(imask),
    }


def masked_losses(model, states, tgt, inact, imask):
    logits = model.next_logits(states)  # [B,T,V]
    ce_sum = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), ignore_index=IGNORE, reduction="sum")
    n_ce = (tgt != IGNORE).sum()
    il = model.inactivity_logit(states)
    bce_sum = (F.binary_cross_entropy_with_logits(il, inact, reduction="none") * imask).sum()
    n_bce = imask.sum()
    return ce_sum, n_ce, bce_sum, n_bce


@torch.no_grad()
def evaluate(model, batches):
    model.eval()
    ce = n_ce = bce = n_bce = 0.0
    for b in batches:
        states, _ = model.run_gru(b["cat"], b["typ"], b["gap"])
        c, nc, bc, nb = masked_losses(model, states, b["tgt"], b["inact"], b["imask"])
        ce += c.item()
        n_ce += nc.item()
        bce += bc.item()
        n_bce += nb.item()
    return ce / max(n_ce, 1), bce / max(n_bce, 1)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_arg(p)
    p.add_argument("--out", default=DEFAULT_CHECKPOINT_DIR, help="checkpoint folder (default .cache/model)")
    p.add_argument("--seed", type=int, default=TRAIN_SEED)
    p.add_argument("--epochs", type=int, default=40, help="maximum epochs")
    p.add_argument("--patience", type=int, default=4)
    p.add_argument("--batch-users", type=int, default=16)
    p.add_argument("--chunk", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--weight-decay", type=float, default=1e-5)
    p.add_argument("--inact-weight", type=float, default=1.0)
    p.add_argument("--cat-dim", type=int, default=48)
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--no-tie", action="store_true", help="plain Linear(H->V) next-category head")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()

    t_start = time.time()
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    set_all_seeds(args.seed)

    ds, split, vocab = prepare(args.data)
    train_users = encode_users(ds, split["train"], vocab)
    valid_users = encode_users(ds, split["valid"], vocab)
    print(
        f"data: {ds.rows} rows, {len(ds.users)} users; split train/valid/test = "
        f"{len(split['train'])}/{len(split['valid'])}/{len(split['test'])}; V = {vocab.size} (incl. pad, oov)"
    )

    cfg = EncoderConfig(
        vocab_size=vocab.size, cat_dim=args.cat_dim, tie_output=not args.no_tie, dropout=args.dropout
    )
    model = Encoder(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)

    # validation batches: fixed, sorted by length to limit padding
    vs = sorted(valid_users, key=lambda u: (len(u.cat), u.user_id))
    valid_batches = [batch_tensors(vs[i : i + 64]) for i in range(0, len(vs), 64)]

    rng = np.random.default_rng(args.seed)
    best = (float("inf"), -1, None)
    history = []
    bad = 0
    for epoch in range(1, args.epochs + 1):
        t0 = time.time()
        model.train()
        order = rng.permutation(len(train_users))
        # bucket by length inside windows of 8 batches: less padding, still shuffled
        win = args.batch_users * 8
        batches = []
        for w in range(0, len(order), win):
            idx = sorted(order[w : w + win], key=lambda i: len(train_users[i].cat))
            batches += [idx[i : i + args.batch_users] for i in range(0, len(idx), args.batch_users)]
        batches = [batches[i] for i in rng.permutation(len(batches))]
        tr_ce = tr_nce = tr_bce = tr_nb = 0.0
        for bidx in batches:
            b = batch_tensors([train_users[i] for i in bidx])
            T = b["cat"].shape[1]
            h = None
            for s in range(0, T, args.chunk):
                sl = slice(s, s + args.chunk)
                states, h = model.run_gru(b["cat"][:, sl], b["typ"][:, sl], b["gap"][:, sl], h)
                h = h.detach()
                ce, nce, bce, nb = masked_losses(
                    model, model.drop(states), b["tgt"][:, sl], b["inact"][:, sl], b["imask"][:, sl]
                )
                if nce.item() == 0 and nb.item() == 0:
                    continue
                loss = ce / nce.clamp(min=1) + args.inact_weight * bce / nb.clamp(min=1)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                tr_ce += ce.item()
                tr_nce += nce.item()
                tr_bce += bce.item()
                tr_nb += nb.item()
        v_ce, v_bce = evaluate(model, valid_batches)
        rec = {
            "epoch": epoch,
            "train_ce": round(tr_ce / tr_nce, 5),
            "train_bce": round(tr_bce / tr_nb, 5),
            "valid_ce": round(v_ce, 5),
            "valid_bce": round(v_bce, 5),
            "seconds": round(time.time() - t0, 1),
        }
        history.append(rec)
        print(json.dumps(rec), flush=True)
        if v_ce < best[0] - 1e-4:
            best = (v_ce, epoch, {k: v.detach().clone() for k, v in model.state_dict().items()})
            bad = 0
        else:
            bad += 1
            if bad >= args.patience:
                print(f"early stop: no valid CE improvement for {args.patience} epochs")
                break

    model.load_state_dict(best[2])
    out_dir = resolve(args.out)
    os.makedirs(out_dir, exist_ok=True)
    ck = {
        "config": cfg.to_dict(),
        "state_dict": best[2],
        "vocab_ids": vocab.ids,
        "vocab_counts": vocab.counts,
        "training": {
            "dataFile": DATA_FILE_NAME,
            "sha256": ds.sha256,
            "rows": ds.rows,
            "users": len(ds.users),
            "split": {
                "seed": SPLIT_SEED,
                "train": len(split["train"]),
                "valid": len(split["valid"]),
                "test": len(split["test"]),
            },
            "epochs": len(history),
            "bestEpoch": best[1],
            "bestValidNextCategoryCE": round(best[0], 5),
            "seed": args.seed,
            "chunk": args.chunk,
            "batchUsers": args.batch_users,
            "lr": args.lr,
            "weightDecay": args.weight_decay,
            "inactWeight": args.inact_weight,
            "history": history,
        },
    }
    path = os.path.join(out_dir, "encoder.pt")
    torch.save(ck, path)
    print(
        f"best epoch {best[1]} (valid CE {best[0]:.4f}) of {len(history)}; wrote {path}; "
        f"train wall time {time.time() - t_start:.1f} s"
    )


if __name__ == "__main__":
    main()
