"""Writes onnx/artifacts/split.json: the train/valid/test user ids of the encoder's split.

The TypeScript side (threshold calibration on train users, offline evaluation on test users) reads
this file instead of re-implementing numpy's shuffle. User ids of the public Taobao sample only.
"""
import argparse
import json
import os

from common import SPLIT_SEED, add_data_arg, load_data, resolve, sha256_file, split_users


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    add_data_arg(p)
    p.add_argument("--out", default="onnx/artifacts/split.json")
    args = p.parse_args()
    ds = load_data(resolve(args.data))
    split = split_users(ds.users.keys())
    out = resolve(args.out)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(
            {"seed": SPLIT_SEED, "dataSha256": sha256_file(resolve(args.data)), **{k: split[k] for k in ("train", "valid", "test")}},
            f,
        )
        f.write("\n")
    print(f"wrote {out}: " + ", ".join(f"{k} {len(v)}" for k, v in split.items()))


if __name__ == "__main__":
    main()
