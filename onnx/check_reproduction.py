"""Does this machine reproduce the committed encoder? Retrains and exports into a scratch folder
(train.py, then export.py without its validation), then compares every weight tensor of the new
ONNX graph with onnx/artifacts/encoder.onnx and prints both model versions.

Training is deterministic on one machine (fixed seeds, deterministic algorithms, 2 threads), but
the float results depend on the CPU's vector instructions, so another machine can give a close but
different model (see the model card, "Reproduce"). Report only: exit code 0 either way, 1 on error.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import numpy_helper

from common import add_data_arg, resolve


def weights(path: str) -> dict:
    return {t.name: numpy_helper.to_array(t) for t in onnx.load(path).graph.initializer}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    add_data_arg(p)
    p.add_argument("--work", default=".cache/model-check", help="scratch folder (default .cache/model-check)")
    p.add_argument("--committed", default="onnx/artifacts", help="folder of the committed encoder")
    args = p.parse_args()
    work = resolve(args.work)
    here = os.path.dirname(os.path.abspath(__file__))

    def run(script: str, *a: str) -> None:
        subprocess.run([sys.executable, os.path.join(here, script), *a], check=True)

    run("train.py", "--data", resolve(args.data), "--out", os.path.join(work, "model"))
    run(
        "export.py",
        "--data",
        resolve(args.data),
        "--checkpoint",
        os.path.join(work, "model", "encoder.pt"),
        "--out",
        os.path.join(work, "artifacts"),
        "--skip-validation",
    )
    committed_dir = resolve(args.committed)
    new, old = weights(os.path.join(work, "artifacts", "encoder.onnx")), weights(os.path.join(committed_dir, "encoder.onnx"))

    def version(folder: str) -> str:
        with open(os.path.join(folder, "encoder.meta.json")) as f:
            return json.load(f)["modelVersion"]

    v_new, v_old = version(os.path.join(work, "artifacts")), version(committed_dir)
    if set(new) != set(old):
        print(f"different graphs: tensors only in one of them: {sorted(set(new) ^ set(old))}")
        return
    diffs = {k: float(np.max(np.abs(new[k].astype(np.float64) - old[k].astype(np.float64)))) if new[k].size else 0.0 for k in sorted(new)}
    for k, d in diffs.items():
        print(f"  {k:12s} {str(new[k].shape):16s} max |Δ| {d:.3g}")
    same = v_new == v_old and all(d == 0.0 for d in diffs.values())
    print(
        f"retrained {v_new} vs committed {v_old}: "
        + ("REPRODUCED (identical weights)" if same else f"NOT reproduced on this machine (largest |Δ| {max(diffs.values()):.3g})")
    )


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # report-only tool: one line, exit 1
        print(f"check_reproduction: {e}", file=sys.stderr)
        sys.exit(1)
