"""A minimal BERT encoder in plain PyTorch (inference and training of the built-in model).

Parameter names follow ``transformers``' ``BertModel`` (``encoder.layer.N.attention.self.query``
...), so state dicts are interchangeable, but importing this needs only torch (importing
transformers alone costs ~10-25 s on a small CPU box).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["Encoder", "EncoderLayer", "extended_mask"]


def extended_mask(attention_mask: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """[B, L] 1/0 mask -> additive [B, 1, 1, L] mask (0 keep, large negative drop)."""
    return (1.0 - attention_mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


class _SelfAttention(nn.Module):
    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)


class _DenseNorm(nn.Module):
    def __init__(self, d_in: int, d_out: int, eps: float) -> None:
        super().__init__()
        self.dense = nn.Linear(d_in, d_out)
        self.LayerNorm = nn.LayerNorm(d_out, eps=eps)


class _Attention(nn.Module):
    def __init__(self, hidden: int, eps: float) -> None:
        super().__init__()
        self.self = _SelfAttention(hidden)
        self.output = _DenseNorm(hidden, hidden, eps)


class _Dense(nn.Module):
    def __init__(self, d_in: int, d_out: int) -> None:
        super().__init__()
        self.dense = nn.Linear(d_in, d_out)


class EncoderLayer(nn.Module):
    """One post-LayerNorm BERT layer (names as in transformers' ``BertLayer``)."""

    def __init__(self, hidden: int = 384, heads: int = 12, intermediate: int = 1536, eps: float = 1e-12,
                 dropout: float = 0.1) -> None:
        super().__init__()
        self.heads = heads
        self.attention = _Attention(hidden, eps)
        self.intermediate = _Dense(hidden, intermediate)
        self.output = _DenseNorm(intermediate, hidden, eps)
        self.dropout = dropout

    def forward(self, h: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """``h`` [B, L, H]; ``attention_mask`` additive [B, 1, 1, L] (see :func:`extended_mask`)."""
        b, n, d = h.shape
        sa = self.attention.self
        hd = d // self.heads

        def split(x: torch.Tensor) -> torch.Tensor:
            return x.view(b, n, self.heads, hd).transpose(1, 2)

        q, k, v = split(sa.query(h)), split(sa.key(h)), split(sa.value(h))
        p = self.dropout if self.training else 0.0
        ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=attention_mask, dropout_p=p, scale=1.0 / math.sqrt(hd))
        ctx = ctx.transpose(1, 2).reshape(b, n, d)
        ao = self.attention.output
        h = ao.LayerNorm(h + F.dropout(ao.dense(ctx), p, self.training))
        mid = F.gelu(self.intermediate.dense(h))
        out = self.output
        return out.LayerNorm(h + F.dropout(out.dense(mid), p, self.training))


class _Embeddings(nn.Module):
    def __init__(self, word: nn.Module, max_pos: int, type_vocab: int, hidden: int, eps: float) -> None:
        super().__init__()
        self.word_embeddings = word
        self.position_embeddings = nn.Embedding(max_pos, hidden)
        self.token_type_embeddings = nn.Embedding(type_vocab, hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=eps)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        pos = torch.arange(input_ids.shape[1], device=input_ids.device)
        x = self.word_embeddings(input_ids) + self.position_embeddings(pos)[None] + self.token_type_embeddings.weight[0]
        return self.LayerNorm(x)


class _Layers(nn.Module):
    layer: nn.ModuleList

    def __init__(self, layers: list[EncoderLayer]) -> None:
        super().__init__()
        self.layer = nn.ModuleList(layers)


class Encoder(nn.Module):
    """Embeddings + a stack of :class:`EncoderLayer` (names as in ``BertModel``)."""

    def __init__(self, word: nn.Module, n_layers: int, hidden: int = 384, heads: int = 12, intermediate: int = 1536,
                 max_pos: int = 512, type_vocab: int = 2, eps: float = 1e-12) -> None:
        super().__init__()
        self.embeddings: _Embeddings = _Embeddings(word, max_pos, type_vocab, hidden, eps)
        self.encoder: _Layers = _Layers([EncoderLayer(hidden, heads, intermediate, eps) for _ in range(n_layers)])

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Hidden states after all layers, [B, L, H]."""
        h = self.embeddings(input_ids)
        ext = extended_mask(attention_mask, h.dtype)
        for layer in self.encoder.layer:
            h = layer(h, attention_mask=ext)
        return h
