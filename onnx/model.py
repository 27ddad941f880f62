"""PyTorch GRU encoder for interest-drift.

Per event: Embedding(category, D_cat) ++ Embedding(event type, 8) ++ (log gap / log1p(30 d)) -> single-layer GRU(H).
Heads on the GRU hidden state after an event:
  * next_category_logits = Linear(H -> V)            (V includes pad = 0 and oov = 1)
  * embedding            = L2normalise(Linear(H -> E))
  * inactivity_logit     = Linear(H -> 32) -> ReLU -> Linear(32 -> 1)   (P(no event in the next 24 h))

The next-category head may be *factorised and tied* to the input category embedding (`tie_output=True`):
logits = (W_p h + b_p) . cat_emb^T + b. That is still a linear map H -> V; `next_head_weights()` returns the
equivalent dense [V, H] matrix and [V] bias, which is what the ONNX export stores (one Gemm).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from common import GAP_CLIP_LOG, NUM_EVENT_TYPES, PAD_INDEX

GAP_SCALE = 1.0 / GAP_CLIP_LOG  # log gaps are scaled to [0, 1] inside the model (a Mul node in ONNX)
L2_EPS = 1e-12  # same eps as torch.nn.functional.normalize


@dataclass
class EncoderConfig:
    vocab_size: int
    cat_dim: int = 48
    type_dim: int = 8
    hidden: int = 64
    embed_dim: int = 32
    inact_hidden: int = 32
    tie_output: bool = True
    dropout: float = 0.2

    def to_dict(self):
        return asdict(self)


class Encoder(nn.Module):
    def __init__(self, cfg: EncoderConfig):
        super().__init__()
        self.cfg = cfg
        self.cat_emb = nn.Embedding(cfg.vocab_size, cfg.cat_dim, padding_idx=PAD_INDEX)
        self.type_emb = nn.Embedding(NUM_EVENT_TYPES, cfg.type_dim, padding_idx=PAD_INDEX)
        self.gru = nn.GRU(cfg.cat_dim + cfg.type_dim + 1, cfg.hidden, num_layers=1, batch_first=True)
        if cfg.tie_output:
            self.next_proj = nn.Linear(cfg.hidden, cfg.cat_dim)
            self.next_bias = nn.Parameter(torch.zeros(cfg.vocab_size))
        else:
            self.next_head = nn.Linear(cfg.hidden, cfg.vocab_size)
        self.emb_head = nn.Linear(cfg.hidden, cfg.embed_dim)
        self.inact_1 = nn.Linear(cfg.hidden, cfg.inact_hidden)
        self.inact_2 = nn.Linear(cfg.inact_hidden, 1)
        self.drop = nn.Dropout(cfg.dropout)

    # ---- sequence part ----
    def inputs(self, cat, typ, gap):
        x = torch.cat([self.cat_emb(cat), self.type_emb(typ), (gap * GAP_SCALE).unsqueeze(-1)], dim=-1)
        return x

    def run_gru(self, cat, typ, gap, h0=None):
        """cat/typ int64 [B,T], gap float32 [B,T], h0 [B,H] or None -> states [B,T,H], h_T [B,H] (no masking)."""
        x = self.drop(self.inputs(cat, typ, gap))
        out, hT = self.gru(x, None if h0 is None else h0.unsqueeze(0))
        return out, hT.squeeze(0)

    # ---- heads ----
    def next_head_weights(self):
        if self.cfg.tie_output:
            w = self.cat_emb.weight @ self.next_proj.weight  # [V, H]
            b = self.cat_emb.weight @ self.next_proj.bias + self.next_bias  # [V]
            return w, b
        return self.next_head.weight, self.next_head.bias

    def next_logits(self, h):
        if self.cfg.tie_output:
            return F.linear(self.next_proj(h), self.cat_emb.weight, self.next_bias)
        return self.next_head(h)

    def embedding(self, h):
        return F.normalize(self.emb_head(h), p=2.0, dim=-1, eps=L2_EPS)

    def inactivity_logit(self, h):
        return self.inact_2(torch.relu(self.inact_1(h))).squeeze(-1)

    @torch.no_grad()
    def reference(self, cat, typ, gap, lengths, h0):
        """Reference incremental forward (eval mode): run from h0, take the hidden state after the last valid event
        of each row, apply the heads. Used to validate the ONNX graph. Returns dict of tensors."""
        assert not self.training
        B, T = cat.shape
        x = self.inputs(cat, typ, gap)
        lengths = torch.as_tensor(lengths, dtype=torch.int64)
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, hT = self.gru(packed, h0.unsqueeze(0))
        h = hT.squeeze(0)
        w, b = self.next_head_weights()
        return {
            "h": h,
            "embedding": self.embedding(h),
            "next_category_logits": F.linear(h, w, b),
            "inactivity_logit": self.inactivity_logit(h),
        }

    @torch.no_grad()
    def reference_stepwise(self, cat, typ, gap, lengths, h0):
        """Independent reference: one GRUCell-equivalent step at a time, freezing rows past their length."""
        assert not self.training
        B, T = cat.shape
        x = self.inputs(cat, typ, gap)
        h = h0.clone()
        lengths = torch.as_tensor(lengths, dtype=torch.int64)
        for t in range(T):
            _, hn = self.gru(x[:, t : t + 1], h.unsqueeze(0))
            keep = (t < lengths).unsqueeze(-1)
            h = torch.where(keep, hn.squeeze(0), h)
        w, b = self.next_head_weights()
        return {
            "h": h,
            "embedding": self.embedding(h),
            "next_category_logits": F.linear(h, w, b),
            "inactivity_logit": self.inactivity_logit(h),
        }


def load_checkpoint(path: str):
    ck = torch.load(path, map_location="cpu", weights_only=False)
    model = Encoder(EncoderConfig(**ck["config"]))
    model.load_state_dict(ck["state_dict"])
    model.eval()
    return model, ck
