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

Korean route (optional, since lk): texts that are Korean (:func:`is_korean` of the texts a task reads) can
have their own n-gram regression and stacking weights per task, fitted on Korean rows only; every other text
keeps the shared stage, so adding the route leaves non-Korean scores exactly as they were.

Stored as ``lexical.npz`` beside the encoder's ``weights.npz``: per task an int8 coefficient
vector with one fp32 scale (the Korean route's under ``ko/<task>``), an intercept, and the stacking
weights; the hashing parameters in ``meta.json["lexical"]`` (the Korean route's in its ``korean`` entry).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._exceptions import BackendUnavailable, ConfigError

__all__ = ["LexicalConfig", "LexicalModel", "TASK_TEXTS", "is_korean", "logit", "task_text"]

#: which texts each task's features are built from (in this order, one hashed block each)
TASK_TEXTS: dict[str, tuple[str, ...]] = {
    "prompt_harmful": ("prompt",),
    "response_refusal": ("response",),
    "response_harmful": ("prompt", "response"),
}


_HANGUL = re.compile("[\u3131-\u318e\uac00-\ud7a3]")  # compatibility jamo (ㅋㅋ, ㅅㅂ) and syllables
_LATIN = re.compile("[A-Za-z]")


def is_korean(text: str) -> bool:
    """Whether a text goes to the Korean route: at least two Hangul characters, and at least a third as many
    Hangul characters as Latin letters (a Korean sentence with English words is Korean, an English one
    quoting a Korean word is not)."""
    h = len(_HANGUL.findall(text))
    return h >= 2 and 3 * h >= len(_LATIN.findall(text))


def task_text(task: str, prompt: str, response: str) -> str:
    """The texts ``task`` reads, joined (what :func:`is_korean` judges for its route)."""
    return "\n".join(prompt if k == "prompt" else response for k in TASK_TEXTS[task])


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
    #: the Korean route: a model of the same config for Korean texts, for the tasks it has (None: no route)
    korean: LexicalModel | None = None
    _vectorizers: list[Any] = field(default_factory=list, compare=False, repr=False)

    def __post_init__(self) -> None:
        for t, texts in TASK_TEXTS.items():
            if t in self.coef and self.coef[t].shape != (len(texts) * self.config.block,):
                raise ConfigError(f"lexical coefficients of {t} have shape {self.coef[t].shape}, expected "
                                  f"({len(texts) * self.config.block},)")
        if self.korean is not None and (self.korean.config != self.config or self.korean.korean is not None):
            raise ConfigError("the Korean route must share the stage's hashing config and have no route of its own")

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

    def task_logits(self, prompts: Sequence[str], responses: Sequence[str], tasks: Sequence[str] | None = None,
                    routes: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        """:meth:`logits` of several tasks (default: all it has), hashing each text kind once; rows on the
        Korean route (``routes``, default :meth:`routes`: pass them when the caller needs them too) get the
        Korean model's logit (from the same features: one config)."""
        todo = [t for t in (tasks if tasks is not None else TASK_TEXTS) if t in self.coef]
        by = {"prompt": prompts, "response": responses}
        blocks = {k: self.block(by[k]) for k in {k for t in todo for k in TASK_TEXTS[t]}}
        out = self._dot(blocks, todo, len(prompts))
        if self.korean is not None:
            routes = routes if routes is not None else self.routes(prompts, responses, todo)
            for t in todo:
                ko = routes[t]
                if ko.any():
                    rows = np.flatnonzero(ko)
                    out[t][rows] = self.korean._dot({k: x[rows] for k, x in blocks.items()}, [t], len(rows))[t]
        return out

    def _dot(self, blocks: Mapping[str, Any], todo: Sequence[str], n: int) -> dict[str, np.ndarray]:
        out = {}
        for t in todo:
            z = np.full(n, self.intercept[t], dtype=np.float64)
            for j, k in enumerate(TASK_TEXTS[t]):
                z += blocks[k] @ self.coef[t][j * self.config.block:(j + 1) * self.config.block]
            out[t] = z
        return out

    def routes(self, prompts: Sequence[str], responses: Sequence[str],
               tasks: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """Per task, which rows take the Korean route: the task's texts are Korean (:func:`is_korean`) and the
        route has that task (all False without a route)."""
        out = {}
        for t in (tasks if tasks is not None else TASK_TEXTS):
            if self.korean is None or t not in self.korean.coef:
                out[t] = np.zeros(len(prompts), dtype=bool)
                continue
            out[t] = np.array([is_korean(task_text(t, p, r)) for p, r in zip(prompts, responses, strict=True)],
                              dtype=bool)
        return out

    def combine(self, task: str, p_enc: Any, z_lex: Any, korean: Any = False) -> Any:
        """The stacked probability from the encoder's calibrated probability and the n-gram logit
        (floats, or arrays of them); ``korean`` (per row): the row took the Korean route, so the Korean
        stacking weights apply."""
        w = np.array(self.stack[task])
        if self.korean is not None and task in self.korean.stack and np.any(korean):
            w = np.where(np.asarray(korean)[..., None], np.array(self.korean.stack[task]), w)
        w_enc, w_lex, b = w[..., 0], w[..., 1], w[..., 2]
        z = np.clip(w_enc * logit(p_enc) + w_lex * np.asarray(z_lex) + b, -60.0, 60.0)
        return 1.0 / (1.0 + np.exp(-z))

    # -- storage -------------------------------------------------------------------------
    def save(self, folder: Path) -> dict[str, Any]:
        """Write ``lexical.npz`` (int8 coefficients, one scale each) and return the meta.json entry."""
        arrays: dict[str, Any] = {}
        for prefix, m in (("", self), ("ko/", self.korean)):
            for t, w in (m.coef.items() if m is not None else ()):
                scale = float(np.abs(w).max()) / 127 or 1.0
                arrays[f"{prefix}{t}.q"] = np.round(w / scale).astype(np.int8)
                arrays[f"{prefix}{t}.scale"] = np.array(scale, dtype=np.float32)
        np.savez_compressed(folder / "lexical.npz", **arrays)
        entry: dict[str, Any] = {**self.config.to_meta(), "intercept": dict(self.intercept),
                                 "stack": {t: list(v) for t, v in self.stack.items()}}
        if self.korean is not None:
            entry["korean"] = {"intercept": dict(self.korean.intercept),
                               "stack": {t: list(v) for t, v in self.korean.stack.items()}}
        return entry

    @classmethod
    def load(cls, folder: Path, entry: Mapping[str, Any]) -> LexicalModel:
        """Read what :meth:`save` wrote (``entry`` is meta.json's ``lexical``)."""
        f = folder / "lexical.npz"
        if not f.is_file():
            raise BackendUnavailable(f"the built-in model's meta.json names an n-gram stage, but {f} is missing")
        config = LexicalConfig.from_meta(entry)
        try:
            with np.load(f) as z:
                parts = [cls._read(f, z, "", entry)]
                if "korean" in entry:
                    parts.append(cls._read(f, z, "ko/", entry["korean"]))
        except ConfigError:  # a mismatch _read names itself
            raise
        except (KeyError, TypeError, ValueError, OSError) as exc:
            raise ConfigError(f"{f} or meta.json's 'lexical' entry is malformed: {exc}") from exc
        korean = cls(config, *parts[1]) if len(parts) > 1 else None
        return cls(config, *parts[0], korean=korean)

    @staticmethod
    def _read(f: Path, z: Any, prefix: str, entry: Mapping[str, Any]) -> tuple[dict[str, np.ndarray], dict[str, float],
                                                                             dict[str, tuple[float, float, float]]]:
        coef = {t: z[f"{prefix}{t}.q"].astype(np.float32) * np.float32(z[f"{prefix}{t}.scale"]) for t in TASK_TEXTS
                if f"{prefix}{t}.q" in z}
        stack = {t: (float(a), float(b), float(c)) for t, (a, b, c) in entry["stack"].items()}
        intercept = {t: float(v) for t, v in entry["intercept"].items()}
        if set(coef) != set(stack) or set(coef) != set(intercept):
            what = "the Korean route" if prefix else "meta.json"
            raise ConfigError(f"{f} holds tasks {sorted(coef)}{' under ' + prefix if prefix else ''}, {what} "
                              f"{sorted(stack)}: they must match")
        return coef, intercept, stack
