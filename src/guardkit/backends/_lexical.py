"""The built-in model's n-gram stage: hashed character and word n-grams, one linear model per task.

A second, independent view of the text, stacked with the encoder: per task, the final logit is
``w_enc * z_enc + w_lex * z_lex + b``, where ``z_enc`` is the encoder's Platt-calibrated logit
and ``z_lex`` the n-gram model's logit (weights fitted on the training mix's cal split by
``guardkit.train.lexical``). It reads whole texts, so it has no window limit: hashing maps any
length to a fixed-size sparse vector.

Which text each task reads: prompt harm, the prompt; refusal, the response; response harm, the
prompt and the response in two separate blocks. Features are scikit-learn's
``HashingVectorizer`` (stateless, so only the coefficients are stored): character n-grams within
word boundaries plus word n-grams, lowercased, l2-normalised per block.

Stored as ``lexical.npz`` beside the encoder's ``weights.npz``: per task an int8 coefficient
vector with one fp32 scale, an intercept, and the stacking weights; the hashing parameters in
``meta.json["lexical"]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._exceptions import BackendUnavailable, ConfigError

__all__ = ["LexicalConfig", "LexicalModel", "TASK_TEXTS", "logit"]

#: which texts each task's features are built from (in this order, one hashed block each)
TASK_TEXTS: dict[str, tuple[str, ...]] = {
    "prompt_harmful": ("prompt",),
    "response_refusal": ("response",),
    "response_harmful": ("prompt", "response"),
}


def logit(p: Any) -> Any:
    """Logit of a probability or an array of them, clipped to [1e-7, 1 - 1e-7] so that 0 and 1 stay finite."""
    q = np.clip(p, 1e-7, 1 - 1e-7)
    return np.log(q / (1 - q))


@dataclass(frozen=True)
class LexicalConfig:
    """Hashing parameters: a block is ``2 ** bits`` character n-gram slots + ``2 ** bits`` word n-gram slots."""

    bits: int = 18
    char_ngrams: tuple[int, int] = (2, 5)
    word_ngrams: tuple[int, int] = (1, 2)

    @property
    def block(self) -> int:
        """Width of one text's block."""
        return 2 * 2**self.bits

    def to_meta(self) -> dict[str, Any]:
        return {"bits": self.bits, "char_ngrams": list(self.char_ngrams), "word_ngrams": list(self.word_ngrams)}

    @classmethod
    def from_meta(cls, d: Mapping[str, Any]) -> LexicalConfig:
        try:
            return cls(int(d["bits"]), tuple(d["char_ngrams"]), tuple(d["word_ngrams"]))  # type: ignore[arg-type]
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"meta.json's 'lexical' entry is malformed: {exc}") from exc


@dataclass(frozen=True)
class LexicalModel:
    """Per-task n-gram logistic regressions and their stacking weights over the encoder."""

    config: LexicalConfig
    coef: Mapping[str, np.ndarray]  # task -> dense float32 [blocks * config.block]
    intercept: Mapping[str, float]
    stack: Mapping[str, tuple[float, float, float]]  # task -> (w_enc, w_lex, bias)
    _vectorizers: list[Any] = field(default_factory=list, compare=False, repr=False)

    def __post_init__(self) -> None:
        for t, texts in TASK_TEXTS.items():
            if t in self.coef and self.coef[t].shape != (len(texts) * self.config.block,):
                raise ConfigError(f"lexical coefficients of {t} have shape {self.coef[t].shape}, expected "
                                  f"({len(texts) * self.config.block},)")

    # -- features ------------------------------------------------------------------------
    def _vecs(self) -> list[Any]:
        if not self._vectorizers:
            try:
                from sklearn.feature_extraction.text import HashingVectorizer
            except ImportError as exc:
                raise BackendUnavailable("the built-in model's n-gram stage needs scikit-learn: "
                                         "pip install 'guardkit[builtin]'") from exc
            c = self.config
            self._vectorizers.extend([
                HashingVectorizer(analyzer="char_wb", ngram_range=c.char_ngrams, n_features=2**c.bits,
                                  alternate_sign=False, norm="l2", dtype=np.float32),
                HashingVectorizer(analyzer="word", ngram_range=c.word_ngrams, n_features=2**c.bits,
                                  alternate_sign=False, norm="l2", dtype=np.float32, token_pattern=r"(?u)\b\w+\b"),
            ])
        return self._vectorizers

    def block(self, texts: Sequence[str]) -> Any:
        """The sparse [len(texts), config.block] features of one text kind."""
        import scipy.sparse as sp

        return sp.hstack([v.transform(texts) for v in self._vecs()], format="csr")

    def features(self, task: str, prompts: Sequence[str], responses: Sequence[str]) -> Any:
        """The sparse features of ``task`` for these conversations (an absent response is ``""``)."""
        import scipy.sparse as sp

        by = {"prompt": prompts, "response": responses}
        return sp.hstack([self.block(by[k]) for k in TASK_TEXTS[task]], format="csr")

    # -- scores --------------------------------------------------------------------------
    def logits(self, task: str, prompts: Sequence[str], responses: Sequence[str]) -> np.ndarray:
        """The n-gram model's own logit per conversation."""
        return self.task_logits(prompts, responses, (task,))[task]

    def task_logits(self, prompts: Sequence[str], responses: Sequence[str],
                    tasks: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """:meth:`logits` of several tasks (default: all it has), hashing each text kind once."""
        todo = [t for t in (tasks if tasks is not None else TASK_TEXTS) if t in self.coef]
        by = {"prompt": prompts, "response": responses}
        blocks = {k: self.block(by[k]) for k in {k for t in todo for k in TASK_TEXTS[t]}}
        out = {}
        for t in todo:
            z = np.full(len(prompts), self.intercept[t], dtype=np.float64)
            for j, k in enumerate(TASK_TEXTS[t]):
                z += blocks[k] @ self.coef[t][j * self.config.block:(j + 1) * self.config.block]
            out[t] = z
        return out

    def combine(self, task: str, p_enc: Any, z_lex: Any) -> Any:
        """The stacked probability from the encoder's calibrated probability and the n-gram logit
        (floats, or arrays of them)."""
        w_enc, w_lex, b = self.stack[task]
        z = np.clip(w_enc * logit(p_enc) + w_lex * np.asarray(z_lex) + b, -60.0, 60.0)
        return 1.0 / (1.0 + np.exp(-z))

    # -- storage -------------------------------------------------------------------------
    def save(self, folder: Path) -> dict[str, Any]:
        """Write ``lexical.npz`` (int8 coefficients, one scale each) and return the meta.json entry."""
        arrays: dict[str, Any] = {}
        for t, w in self.coef.items():
            scale = float(np.abs(w).max()) / 127 or 1.0
            arrays[f"{t}.q"] = np.round(w / scale).astype(np.int8)
            arrays[f"{t}.scale"] = np.array(scale, dtype=np.float32)
        np.savez_compressed(folder / "lexical.npz", **arrays)
        return {**self.config.to_meta(), "intercept": dict(self.intercept),
                "stack": {t: list(v) for t, v in self.stack.items()}}

    @classmethod
    def load(cls, folder: Path, entry: Mapping[str, Any]) -> LexicalModel:
        """Read what :meth:`save` wrote (``entry`` is meta.json's ``lexical``)."""
        f = folder / "lexical.npz"
        if not f.is_file():
            raise BackendUnavailable(f"the built-in model's meta.json names an n-gram stage, but {f} is missing")
        try:
            with np.load(f) as z:
                coef = {t: z[f"{t}.q"].astype(np.float32) * np.float32(z[f"{t}.scale"]) for t in TASK_TEXTS
                        if f"{t}.q" in z}
            stack = {t: (float(a), float(b), float(c)) for t, (a, b, c) in entry["stack"].items()}
            intercept = {t: float(v) for t, v in entry["intercept"].items()}
        except (KeyError, TypeError, ValueError, OSError) as exc:
            raise ConfigError(f"{f} or meta.json's 'lexical' entry is malformed: {exc}") from exc
        if set(coef) != set(stack) or set(coef) != set(intercept):
            raise ConfigError(f"{f} holds tasks {sorted(coef)}, meta.json {sorted(stack)}: they must match")
        return cls(LexicalConfig.from_meta(entry), coef, intercept, stack)
