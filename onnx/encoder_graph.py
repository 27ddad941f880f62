"""Hand-built ONNX graph for INCREMENTAL inference of the encoder (shared by export.py and make_tiny.py).

Graph (opset 17, IR 8):
  category_ids [B,T] int64 --Gather(cat_table)--> [B,T,Dc] --+
  event_types  [B,T] int64 --Gather(type_table)-> [B,T,Dt] --+--Concat--> [B,T,I] --Transpose--> [T,B,I]
  log_gaps     [B,T] f32   --Mul(1/log1p(30d))--Unsqueeze-> [B,T,1] --+
  GRU(X, W, R, B, sequence_lens = lengths [B] int32, initial_h = Unsqueeze(h0) [1,B,H]), linear_before_reset=1
     -> Y_h [1,B,H] (hidden state after the last VALID event of each row) -> Squeeze -> h [B,H]
  h --Gemm--> next_category_logits [B,V]
  h --Gemm--> ReduceL2 / Max(eps) / Div --> embedding [B,E]
  h --Gemm--Relu--Gemm--> [B,1] --Squeeze--> inactivity_logit [B]

PyTorch GRU gate blocks are ordered (r, z, n); ONNX GRU wants (z, r, h). PyTorch's n-gate computes
tanh(W_in x + b_in + r * (W_hn h + b_hn)), which is ONNX linear_before_reset=1.
"""

from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8  # the IR version that goes with opset 17; loadable by every onnxruntime >= 1.12

INPUTS = [
    ("category_ids", "int64", ["B", "T"]),
    ("event_types", "int64", ["B", "T"]),
    ("log_gaps", "float32", ["B", "T"]),
    ("lengths", "int32", ["B"]),
    ("h0", "float32", ["B", "H"]),
]
OUTPUTS = [
    ("h", "float32", ["B", "H"]),
    ("embedding", "float32", ["B", "E"]),
    ("next_category_logits", "float32", ["B", "V"]),
    ("inactivity_logit", "float32", ["B"]),
]
_DT = {"int64": TensorProto.INT64, "int32": TensorProto.INT32, "float32": TensorProto.FLOAT}


def io_spec(H: int, E: int, V: int):
    """Inputs/outputs for the metadata: symbolic B, T; concrete H, E, V written as numbers."""
    concrete = {"H": H, "E": E, "V": V}

    def conv(items):
        return [{"name": n, "dtype": d, "shape": [concrete.get(s, s) for s in shape]} for n, d, shape in items]

    return conv(INPUTS), conv(OUTPUTS)


def reorder_rzn_to_zrh(m: np.ndarray, H: int) -> np.ndarray:
    r, z, n = m[:H], m[H : 2 * H], m[2 * H : 3 * H]
    return np.concatenate([z, r, n], axis=0)


def weights_from_torch(model) -> dict[str, np.ndarray]:
    """Extract the float32 arrays the graph needs from an eval-mode model.Encoder."""
    import torch

    H = model.cfg.hidden
    with torch.no_grad():
        g = model.gru
        w_next, b_next = model.next_head_weights()
        f = lambda t: t.detach().cpu().numpy().astype(np.float32)  # noqa: E731
        return {
            "cat_table": f(model.cat_emb.weight),
            "type_table": f(model.type_emb.weight),
            "W_ih": f(g.weight_ih_l0),  # [3H, I] r,z,n
            "W_hh": f(g.weight_hh_l0),  # [3H, H]
            "b_ih": f(g.bias_ih_l0),
            "b_hh": f(g.bias_hh_l0),
            "next_w": f(w_next),  # [V, H]
            "next_b": f(b_next),
            "emb_w": f(model.emb_head.weight),  # [E, H]
            "emb_b": f(model.emb_head.bias),
            "inact1_w": f(model.inact_1.weight),
            "inact1_b": f(model.inact_1.bias),
            "inact2_w": f(model.inact_2.weight),  # [1, K]
            "inact2_b": f(model.inact_2.bias),
            "H": H,
        }


def build_model(w: dict, gap_scale: float, l2_eps: float = 1e-12, doc: str = "") -> onnx.ModelProto:
    H = int(w["H"])
    V = w["next_w"].shape[0]
    E = w["emb_w"].shape[0]
    W = reorder_rzn_to_zrh(w["W_ih"], H)[None]  # [1, 3H, I]
    R = reorder_rzn_to_zrh(w["W_hh"], H)[None]  # [1, 3H, H]
    Bias = np.concatenate([reorder_rzn_to_zrh(w["b_ih"], H), reorder_rzn_to_zrh(w["b_hh"], H)])[None]  # [1, 6H]

    def init(name, arr, dtype=np.float32):
        return numpy_helper.from_array(np.ascontiguousarray(np.asarray(arr, dtype=dtype)), name)

    inits = [
        init("cat_table", w["cat_table"]),
        init("type_table", w["type_table"]),
        init("gap_scale", np.array(gap_scale, dtype=np.float32)),
        init("gru_W", W),
        init("gru_R", R),
        init("gru_B", Bias),
        init("next_w", w["next_w"]),
        init("next_b", w["next_b"]),
        init("emb_w", w["emb_w"]),
        init("emb_b", w["emb_b"]),
        init("inact1_w", w["inact1_w"]),
        init("inact1_b", w["inact1_b"]),
        init("inact2_w", w["inact2_w"]),
        init("inact2_b", w["inact2_b"]),
        init("l2_eps", np.array(l2_eps, dtype=np.float32)),
        init("axes_0", np.array([0]), np.int64),
        init("axes_1", np.array([1]), np.int64),
        init("axes_2", np.array([2]), np.int64),
    ]
    n = helper.make_node
    nodes = [
        n("Gather", ["cat_table", "category_ids"], ["cat_e"], axis=0, name="cat_embedding"),
        n("Gather", ["type_table", "event_types"], ["type_e"], axis=0, name="type_embedding"),
        n("Mul", ["log_gaps", "gap_scale"], ["gap_scaled"], name="gap_scale"),
        n("Unsqueeze", ["gap_scaled", "axes_2"], ["gap_e"], name="gap_unsqueeze"),
        n("Concat", ["cat_e", "type_e", "gap_e"], ["x_btI"], axis=2, name="concat_inputs"),
        n("Transpose", ["x_btI"], ["x_tbI"], perm=[1, 0, 2], name="to_time_major"),
        n("Unsqueeze", ["h0", "axes_0"], ["h0_1bh"], name="h0_unsqueeze"),
        n(
            "GRU",
            ["x_tbI", "gru_W", "gru_R", "gru_B", "lengths", "h0_1bh"],
            ["", "Y_h"],
            hidden_size=H,
            linear_before_reset=1,
            direction="forward",
            name="gru",
        ),
        n("Squeeze", ["Y_h", "axes_0"], ["h"], name="h_squeeze"),
        n("Gemm", ["h", "next_w", "next_b"], ["next_category_logits"], transB=1, name="next_category_head"),
        n("Gemm", ["h", "emb_w", "emb_b"], ["emb_raw"], transB=1, name="embedding_head"),
        n("ReduceL2", ["emb_raw"], ["emb_norm"], axes=[1], keepdims=1, name="embedding_norm"),
        n("Max", ["emb_norm", "l2_eps"], ["emb_norm_safe"], name="embedding_norm_eps"),
        n("Div", ["emb_raw", "emb_norm_safe"], ["embedding"], name="embedding_l2"),
        n("Gemm", ["h", "inact1_w", "inact1_b"], ["inact_hid"], transB=1, name="inactivity_hidden"),
        n("Relu", ["inact_hid"], ["inact_act"], name="inactivity_relu"),
        n("Gemm", ["inact_act", "inact2_w", "inact2_b"], ["inact_b1"], transB=1, name="inactivity_out"),
        n("Squeeze", ["inact_b1", "axes_1"], ["inactivity_logit"], name="inactivity_squeeze"),
    ]
    dims = {"H": H, "E": E, "V": V}

    def vi(name, dtype, shape):
        return helper.make_tensor_value_info(name, _DT[dtype], [dims.get(s, s) for s in shape])

    graph = helper.make_graph(
        nodes,
        "interest_drift_encoder",
        [vi(*x) for x in INPUTS],
        [vi(*x) for x in OUTPUTS],
        initializer=inits,
    )
    m = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="interest-drift onnx/encoder_graph.py",
        producer_version="1",
        doc_string=doc,
    )
    m.ir_version = IR_VERSION
    onnx.checker.check_model(m, full_check=True)
    return m


def save_model(m: onnx.ModelProto, path: str) -> None:
    with open(path, "wb") as f:
        f.write(m.SerializeToString(deterministic=True))


def numpy_reference(w: dict, gap_scale: float, cat, typ, gap, lengths, h0, l2_eps: float = 1e-12):
    """Pure numpy implementation of the same math (float64), used by make_tiny.py where there is no torch model."""
    H = int(w["H"])
    x = np.concatenate(
        [w["cat_table"][cat], w["type_table"][typ], (gap.astype(np.float64) * gap_scale)[..., None]], axis=-1
    ).astype(np.float64)
    Wih, Whh, bih, bhh = (w[k].astype(np.float64) for k in ("W_ih", "W_hh", "b_ih", "b_hh"))
    h = h0.astype(np.float64).copy()
    sig = lambda v: 1.0 / (1.0 + np.exp(-v))  # noqa: E731
    for t in range(cat.shape[1]):
        gi = x[:, t] @ Wih.T + bih
        gh = h @ Whh.T + bhh
        r = sig(gi[:, :H] + gh[:, :H])
        z = sig(gi[:, H : 2 * H] + gh[:, H : 2 * H])
        nn_ = np.tanh(gi[:, 2 * H :] + r * gh[:, 2 * H :])
        hn = (1 - z) * nn_ + z * h
        keep = (t < lengths)[:, None]
        h = np.where(keep, hn, h)
    e = h @ w["emb_w"].T.astype(np.float64) + w["emb_b"]
    e = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), l2_eps)
    hid = np.maximum(h @ w["inact1_w"].T.astype(np.float64) + w["inact1_b"], 0)
    return {
        "h": h,
        "embedding": e,
        "next_category_logits": h @ w["next_w"].T.astype(np.float64) + w["next_b"],
        "inactivity_logit": (hid @ w["inact2_w"].T.astype(np.float64) + w["inact2_b"])[:, 0],
    }


def gap_scale_default() -> float:
    return 1.0 / math.log1p(30 * 24 * 3600)
