"""Fit the built-in model's n-gram stage (:mod:`guardkit.backends._lexical`) beside a trained encoder.

Per task: a logistic regression on hashed n-grams of the train split of the artifact's own mix
(its set weights kept; optionally every row of the Korean toxicity sets the mix samples from,
:func:`guardkit.train.data.toxicity_pool`, at a lower weight), its ``C`` picked by log-loss on the
cal split; then a two-feature logistic regression on the cal split stacks the encoder's calibrated
logit with the n-gram logit. Nothing of the val split is read here, so val still judges the result.
:func:`add_korean_route` fits the stage's Korean route the same way on Korean rows only (plus the train
split of hand-written sets the encoder never saw), leaving the shared stage and every non-Korean score as
they were.
Rows of data/train only; nothing under data/eval is read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._exceptions import ConfigError
from ..backends._lexical import TASK_TEXTS, LexicalConfig, LexicalModel, is_korean, logit, task_text
from .data import Example, norm, split_of

__all__ = ["LexicalFit", "add_korean_route", "add_lexical", "fit_lexical", "korean_rows", "pool_rows", "stacked_probs"]

logger = logging.getLogger(__name__)

_TASKS = tuple(TASK_TEXTS)
#: the n-gram regressions' inverse regularisation strengths tried (picked by cal log-loss)
C_GRID: tuple[float, ...] = (0.25, 1.0, 4.0)
#: a task is fitted only with at least this many labelled train / cal rows (both classes present)
MIN_TRAIN_ROWS, MIN_CAL_ROWS = 50, 20


@dataclass(frozen=True)
class LexicalFit:
    """The fitted stage and how it was chosen (for meta.json)."""

    model: LexicalModel
    report: dict[str, Any]


def pool_rows(pool: Sequence[Example], mix: Sequence[Example], seed: int, held_out: Sequence[str] = ()) -> list[Example]:
    """The pool rows the n-gram model may train on: in the train split, not already in the mix, not held out."""
    seen = {norm(e.prompt) for e in mix} | {norm(t) for t in held_out}
    out, keys = [], set()
    for e in pool:
        k = norm(e.prompt)
        if k in seen or k in keys or split_of(e, seed) != "train":
            continue
        keys.add(k)
        out.append(e)
    return out


def _label(e: Example, task: str) -> int | None:
    return getattr(e, task)  # type: ignore[no-any-return]


def _texts(rows: Sequence[Example]) -> tuple[list[str], list[str]]:
    return [e.prompt for e in rows], [e.response or "" for e in rows]


def korean_rows(e: Example, task: str) -> bool:
    """Whether ``e`` takes the Korean route for ``task`` (the texts the task reads are Korean)."""
    return is_korean(task_text(task, e.prompt, e.response or ""))


def fit_lexical(train: Sequence[Example], train_weight: np.ndarray, cal: Sequence[Example], cal_enc: np.ndarray,
                config: LexicalConfig | None = None, c_grid: Sequence[float] = C_GRID,
                keep: Callable[[Example, str], bool] | None = None) -> LexicalFit:
    """Fit the n-gram stage.

    ``train``/``train_weight``: the rows (and loss weights) the n-gram regressions learn from;
    ``cal``: the rows that pick ``C`` and fit the stacking weights, with ``cal_enc`` [len(cal), 3]
    the encoder's calibrated probabilities on them (prompt harm, refusal, response harm). Rows
    without a label for a task are left out of that task, and so are rows that ``keep(row, task)`` rejects
    (:func:`korean_rows` fits the Korean route).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss

    cfg = config or LexicalConfig()
    shell = LexicalModel(cfg, {}, {}, {})
    tp, tr = _texts(train)
    cp, cr = _texts(cal)
    coef: dict[str, np.ndarray] = {}
    intercept: dict[str, float] = {}
    stack: dict[str, tuple[float, float, float]] = {}
    report: dict[str, Any] = {}
    for k, task in enumerate(_TASKS):
        ti = [i for i, e in enumerate(train) if _label(e, task) is not None and (keep is None or keep(e, task))]
        ci = [i for i, e in enumerate(cal) if _label(e, task) is not None and (keep is None or keep(e, task))]
        yt = np.array([_label(train[i], task) for i in ti], dtype=np.float64)
        yc = np.array([_label(cal[i], task) for i in ci], dtype=np.float64)
        if len(ti) < MIN_TRAIN_ROWS or len(set(yt)) < 2 or len(ci) < MIN_CAL_ROWS or len(set(yc)) < 2:
            logger.warning("n-gram stage: too few labelled rows for %s (%d train, %d cal); skipped", task, len(ti), len(ci))
            continue
        xt = shell.features(task, [tp[i] for i in ti], [tr[i] for i in ti])
        xc = shell.features(task, [cp[i] for i in ci], [cr[i] for i in ci])
        best: tuple[float, Any, float] | None = None
        losses = {}
        for c in c_grid:
            lr = LogisticRegression(C=c, solver="liblinear", max_iter=200)
            lr.fit(xt, yt, sample_weight=train_weight[ti])
            loss = float(log_loss(yc, lr.predict_proba(xc)[:, 1], labels=[0, 1]))
            losses[c] = round(loss, 4)
            if best is None or loss < best[0]:
                best = (loss, lr, c)
        assert best is not None
        _, lr, c = best
        z_lex = lr.decision_function(xc)
        st = LogisticRegression(C=100.0, max_iter=1000).fit(np.c_[logit(cal_enc[ci, k]), z_lex], yc)
        coef[task] = lr.coef_[0].astype(np.float32)
        intercept[task] = float(lr.intercept_[0])
        stack[task] = (float(st.coef_[0, 0]), float(st.coef_[0, 1]), float(st.intercept_[0]))
        report[task] = {"train_rows": len(ti), "cal_rows": len(ci), "C": c, "cal_logloss": losses,
                        "stack": [round(v, 4) for v in stack[task]]}
        logger.info("n-gram stage %s: C=%s, stack %s", task, c, report[task]["stack"])
    return LexicalFit(LexicalModel(cfg, coef, intercept, stack), report)


def stacked_probs(model: LexicalModel, enc: np.ndarray, prompts: Sequence[str], responses: Sequence[str]) -> np.ndarray:
    """[N, 3] probabilities: the encoder's calibrated ``enc`` stacked with the n-gram stage, task by task."""
    out = np.array(enc, dtype=np.float64, copy=True)
    routes = model.routes(prompts, responses)
    for task, z in model.task_logits(prompts, responses, routes=routes).items():
        k = _TASKS.index(task)
        out[:, k] = model.combine(task, enc[:, k], z, routes[task])
    return out


def add_lexical(artifact: Any, data_dir: Any, pool: bool = False, pool_weight: float = 0.25,
                held_out_sets: tuple[str, ...] = ("hh-labels-last", "written-r6"), device: str = "auto",
                config: LexicalConfig | None = None) -> dict[str, Any]:
    """Fit the n-gram stage for ``artifact`` and write it there (``lexical.npz`` + meta.json's ``lexical``).

    Trains on the train split of the artifact's own mix (rebuilt from ``data_dir``, data hash
    checked), plus with ``pool`` every train-split row of :func:`guardkit.train.data.toxicity_pool`
    not already in the mix nor in ``held_out_sets`` (weight ``pool_weight``); ``C`` and the stacking
    weights come from the cal split, on the encoder's calibrated probabilities there. The thresholds
    are left as they are: re-pick them with ``guardkit train thresholds`` (which reads the stage).
    A Korean route the artifact already has (:func:`add_korean_route`) does not depend on the shared
    stage, so it is kept, unless ``config`` changes the hashing (then it is dropped, with a warning:
    refit it with ``guardkit train korean-route``).
    """
    import json
    from dataclasses import replace
    from pathlib import Path

    from .builtin import EXTRA_SETS, _own_mix, _written_artifact, row_weights
    from .data import toxicity_pool

    artifact, data_dir = Path(artifact), Path(data_dir)
    meta, weights = _written_artifact(artifact)
    cfg, own, stats = _own_mix(artifact, meta, data_dir, device)
    split = [split_of(e, cfg.seed) for e in own]
    w = row_weights(own, cfg.set_weights) if cfg.set_weights else np.ones(len(own), dtype=np.float32)
    tr = [i for i, s in enumerate(split) if s == "train"]
    ca = [i for i, s in enumerate(split) if s == "cal"]
    train, tw = [own[i] for i in tr], w[tr].astype(np.float64)
    counts: dict[str, int] = {}
    if pool:
        trained = tuple(meta["config"].get("extra_sets", ()))
        held = tuple(s for s in held_out_sets if s not in trained)
        sources = {EXTRA_SETS[s].source for s in held}
        held_texts = [e.prompt for e in replace(cfg, extra_sets=trained + held).mix(data_dir)[0] if e.source in sources]
        rows, counts = toxicity_pool(data_dir, cfg.seed)
        extra = pool_rows(rows, own, cfg.seed, held_texts)
        train += extra
        tw = np.r_[tw, np.full(len(extra), pool_weight)]
        counts["added"] = len(extra)
    cal_p = _encoder_probs(artifact, meta, weights, cfg, stats, [own[i] for i in ca], device)
    fit = fit_lexical(train, tw, [own[i] for i in ca], cal_p, config)
    model, route = fit.model, None
    if "korean" in meta.get("lexical", {}):
        old = LexicalModel.load(artifact, meta["lexical"])
        if old.config == model.config:
            model, route = replace(model, korean=old.korean), meta["lexical"]["korean"].get("fit")
        else:
            logger.warning("%s: the new hashing config drops the Korean route; refit it with guardkit train "
                           "korean-route", artifact)
    entry = model.save(artifact)
    entry["fit"] = {**fit.report, "pool": counts, "pool_weight": pool_weight if pool else None}
    if route is not None:
        entry["korean"]["fit"] = route
    meta["lexical"] = entry
    (artifact / "meta.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return meta


def _encoder_probs(artifact: Any, meta: dict[str, Any], weights: Any, cfg: Any, stats: dict[str, Any],
                   rows: Sequence[Example], device: str) -> np.ndarray:
    """[len(rows), 3] the artifact encoder's calibrated probabilities (its own Platt scalers) on ``rows``."""
    from dataclasses import replace

    import torch

    from ..backends._builtin_model import load_artifact
    from ..backends._e5 import E5Tokenizer, read_e5
    from .builtin import _device, _Inputs, _predict, platt_probs, prepare

    e5 = read_e5()
    prep = prepare(list(rows), stats, replace(cfg, limit=0), E5Tokenizer(e5))
    bert, net = load_artifact(e5, meta, weights)
    dev = _device(device)
    bert.to(dev)
    net.to(dev)
    with torch.no_grad():
        logits = _predict(net, _Inputs(bert, prep.windows, None, int(meta["config"]["n_frozen"]), dev),
                          list(range(len(rows))), cfg.batch_tokens)
    return platt_probs(meta, logits)


#: the hand-written sets the shipped Korean route also learns from, and their loss weight
KOREAN_ROUTE_SETS: dict[str, float] = {"written-r8": 2.0, "written-r10": 2.0}


def add_korean_route(artifact: Any, data_dir: Any, add_sets: Mapping[str, float] | None = None, device: str = "auto",
                     c_grid: Sequence[float] = C_GRID) -> dict[str, Any]:
    """Fit the n-gram stage's Korean route for ``artifact`` (which must have a stage) and write it there.

    Per task, on the rows whose texts are Korean (:func:`korean_rows`): the train split of the artifact's
    own mix (its set weights kept) plus the train split of ``add_sets`` (extra sets the encoder never
    trained on, each with a loss weight; default :data:`KOREAN_ROUTE_SETS`); ``C`` and the stacking weights
    on the cal split of both, with the encoder's calibrated probabilities there. The shared stage,
    the thresholds and every non-Korean score are left as they were.
    """
    import json
    from dataclasses import replace
    from pathlib import Path

    from .builtin import EXTRA_SETS, _own_mix, _written_artifact, row_weights

    add_sets = dict(KOREAN_ROUTE_SETS if add_sets is None else add_sets)
    artifact, data_dir = Path(artifact), Path(data_dir)
    meta, weights = _written_artifact(artifact)
    if "lexical" not in meta:
        raise ConfigError(f"{artifact} has no n-gram stage to add a Korean route to: fit one with guardkit train lexical")
    cfg, own, stats = _own_mix(artifact, meta, data_dir, device)
    unknown = sorted(set(add_sets) - set(EXTRA_SETS))
    trained = sorted(set(add_sets) & set(cfg.extra_sets))
    if unknown or trained:
        raise ConfigError(f"--add-set: {unknown or trained} " + ("are not extra sets" if unknown else
                          f"are already in {artifact}'s mix") + f"; choose among {sorted(set(EXTRA_SETS) - set(cfg.extra_sets))}")
    if any(not 0 < w < float("inf") for w in add_sets.values()):
        raise ConfigError(f"--add-set weights must be positive numbers, got {add_sets}")
    w = row_weights(own, cfg.set_weights) if cfg.set_weights else np.ones(len(own), dtype=np.float32)
    rows, weight = list(own), [float(x) for x in w]
    if add_sets:
        sources = {EXTRA_SETS[s].source: wt for s, wt in add_sets.items()}
        mix, _ = replace(cfg, extra_sets=tuple(cfg.extra_sets) + tuple(add_sets)).mix(data_dir)
        added = [e for e in mix if e.source in sources]
        rows += added
        weight += [sources[e.source] for e in added]
    ko = [i for i, e in enumerate(rows) if any(korean_rows(e, t) for t in _TASKS)]
    split = {i: split_of(rows[i], cfg.seed) for i in ko}
    tr = [i for i in ko if split[i] == "train"]
    ca = [i for i in ko if split[i] == "cal"]
    cal = [rows[i] for i in ca]
    cal_p = _encoder_probs(artifact, meta, weights, cfg, stats, cal, device)
    lex = LexicalModel.load(artifact, meta["lexical"])
    fit = fit_lexical([rows[i] for i in tr], np.asarray([weight[i] for i in tr], dtype=np.float64), cal, cal_p,
                      lex.config, c_grid, keep=korean_rows)
    if not fit.model.coef:
        raise ConfigError(f"too few Korean rows to fit a Korean route for any task ({len(tr)} train, {len(ca)} cal)")
    entry = replace(lex, korean=fit.model).save(artifact)
    entry["fit"] = meta["lexical"].get("fit", {})
    entry["korean"]["fit"] = {**fit.report, "add_sets": add_sets}
    meta["lexical"] = entry
    (artifact / "meta.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return meta
