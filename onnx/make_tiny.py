"""A tiny random-weight encoder with the production I/O signature, for test fixtures.

Writes test/fixtures/tiny-encoder.onnx and tiny-encoder.meta.json (H=16, E=8; the vocabulary is
the simulator's category list, src/sim/taobao-stats.json, so simulated events are in vocabulary).
Built by hand with onnx.helper around the same ONNX GRU operator as the real export, so the
runtime's padding, lengths and h0 handling are exercised exactly as in production. Deterministic.

    .cache/venv/bin/python onnx/make_tiny.py
"""
import hashlib
import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def main() -> None:
    rng = np.random.default_rng(20171125)
    stats = json.load(open(os.path.join(ROOT, "src", "sim", "taobao-stats.json")))
    ids = [c["id"] for c in stats["categories"]]
    V, H, E, DC, DT = len(ids) + 2, 16, 8, 8, 4
    D = DC + DT + 1

    def t(name, arr):
        return numpy_helper.from_array(arr, name)

    inits = [
        t("cat_emb", rng.normal(0, 1, (V, DC)).astype(np.float32)),
        t("type_emb", rng.normal(0, 1, (6, DT)).astype(np.float32)),
        t("W", rng.normal(0, 0.3, (1, 3 * H, D)).astype(np.float32)),
        t("R", rng.normal(0, 0.3, (1, 3 * H, H)).astype(np.float32)),
        t("B", np.zeros((1, 6 * H), np.float32)),
        t("We", rng.normal(0, 0.3, (H, E)).astype(np.float32)),
        t("Wl", rng.normal(0, 0.3, (H, V)).astype(np.float32)),
        t("Wi", rng.normal(0, 0.3, (H, 1)).astype(np.float32)),
        t("bi", np.array([-1.5], np.float32)),
        t("ax0", np.array([0], np.int64)),
        t("ax1", np.array([1], np.int64)),
        t("ax2", np.array([2], np.int64)),
    ]
    nodes = [
        helper.make_node("Gather", ["cat_emb", "category_ids"], ["ce"]),
        helper.make_node("Gather", ["type_emb", "event_types"], ["te"]),
        helper.make_node("Unsqueeze", ["log_gaps", "ax2"], ["g3"]),
        helper.make_node("Concat", ["ce", "te", "g3"], ["x"], axis=2),
        helper.make_node("Transpose", ["x"], ["xt"], perm=[1, 0, 2]),
        helper.make_node("Unsqueeze", ["h0", "ax0"], ["h03"]),
        helper.make_node("GRU", ["xt", "W", "R", "B", "lengths", "h03"], ["Y", "Yh"], hidden_size=H, linear_before_reset=1),
        helper.make_node("Squeeze", ["Yh", "ax0"], ["h"]),
        helper.make_node("MatMul", ["h", "We"], ["e0"]),
        helper.make_node("LpNormalization", ["e0"], ["embedding"], axis=1, p=2),
        helper.make_node("MatMul", ["h", "Wl"], ["next_category_logits"]),
        helper.make_node("MatMul", ["h", "Wi"], ["i0"]),
        helper.make_node("Add", ["i0", "bi"], ["i1"]),
        helper.make_node("Squeeze", ["i1", "ax1"], ["inactivity_logit"]),
    ]
    vi = helper.make_tensor_value_info
    graph = helper.make_graph(
        nodes,
        "tiny-encoder",
        [
            vi("category_ids", TensorProto.INT64, ["B", "T"]),
            vi("event_types", TensorProto.INT64, ["B", "T"]),
            vi("log_gaps", TensorProto.FLOAT, ["B", "T"]),
            vi("lengths", TensorProto.INT32, ["B"]),
            vi("h0", TensorProto.FLOAT, ["B", H]),
        ],
        [
            vi("h", TensorProto.FLOAT, ["B", H]),
            vi("embedding", TensorProto.FLOAT, ["B", E]),
            vi("next_category_logits", TensorProto.FLOAT, ["B", V]),
            vi("inactivity_logit", TensorProto.FLOAT, ["B"]),
        ],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="onnx/make_tiny.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    data = model.SerializeToString()
    out = os.path.join(ROOT, "test", "fixtures")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "tiny-encoder.onnx"), "wb") as f:
        f.write(data)
    centroids = rng.normal(0, 1, (4, E))
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    spec = lambda names: [{"name": n, "dtype": d, "shape": s} for n, d, s in names]  # noqa: E731
    meta = {
        "modelVersion": f"0.0.0-tiny+{hashlib.sha256(data).hexdigest()[:8]}",
        "opset": 17,
        "createdBy": "onnx/make_tiny.py",
        "inputs": spec([("category_ids", "int64", ["B", "T"]), ("event_types", "int64", ["B", "T"]), ("log_gaps", "float32", ["B", "T"]), ("lengths", "int32", ["B"]), ("h0", "float32", ["B", H])]),
        "outputs": spec([("h", "float32", ["B", H]), ("embedding", "float32", ["B", E]), ("next_category_logits", "float32", ["B", V]), ("inactivity_logit", "float32", ["B"])]),
        "hiddenSize": H,
        "embeddingDim": E,
        "categoryVocab": {"padIndex": 0, "oovIndex": 1, "ids": ids},
        "eventTypeIndex": {"view": 1, "click": 1, "cart": 2, "favorite": 3, "purchase": 4},
        "gapFeature": {"kind": "log1p_seconds", "clipSeconds": 2592000},
        "inactivity": {"horizonMs": 86400000, "definition": "random weights: no meaning"},
        "segments": [{"id": i, "label": f"tiny segment {i}", "centroid": [round(float(x), 6) for x in centroids[i]], "topCategories": [], "trainUsers": 0} for i in range(4)],
    }
    with open(os.path.join(out, "tiny-encoder.meta.json"), "w") as f:
        json.dump(meta, f)
        f.write("\n")
    print(f"wrote test/fixtures/tiny-encoder.onnx ({len(data)} bytes), V={V}, {meta['modelVersion']}")


if __name__ == "__main__":
    main()
