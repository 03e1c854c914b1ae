"""The n-gram stage's selection: candidates lx-a / lx-b against the encoder alone, on held-out groups.

Run (the encoder's scores first, with benchmarks/val_compare.py --save-scores, on val and on cal):
    PYTHONPATH=src python benchmarks/lexical_select.py --data-dir ../shared/data/train --base runs/ec7h \
        --val-scores runs/scores-val/ec7h.npz --cal-scores runs/scores-cal/ec7h.npz [--out runs/lex]

``--base`` is an artifact WITHOUT an n-gram stage (the encoder whose scores were saved). The val scores
must come from a run with ``--held-out written-r6 --held-out hh-labels-last`` (and those sets plus the
base's own in ``--extra-sets``); the cal scores from ``--split cal`` with the same ``--extra-sets``.

Candidates (the rules in docs/model-card.md, "lx"): round 1 (against the encoder alone): lx-a fits the
n-grams on the train split of the base's own mix; lx-b adds every train-split row of
:func:`guardkit.train.data.toxicity_pool` (weight 0.25). Round 2 (``--round 2``, against lx-a): lx-c, C
from {4, 16, 64}; lx-d, lx-c with 2^20 slots per analyzer and word 1-3-grams. Each stacks over the saved cal scores (held-out sets' cal rows left out), picks thresholds by
the rule of ``guardkit train thresholds`` (best mean F1 over val and hh-labels-last), and is scored on
every held-out group x task with >= 20 positives: val split, round 6 English / Korean, hh-labels-last,
the lm-replies val rows. Prints AUPRC and F1 per group and the rule's (P), (G) and (F); with ``--out``,
writes each candidate's stage (``<out>/<name>/lexical.npz`` + ``meta.json``).
Rows of data/train only; nothing under data/eval is read.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

_HANGUL = re.compile("[\uac00-\ud7a3]")
_HELD_OUT = ("written-r6", "hh-labels-last")


class Candidate(NamedTuple):
    pool: bool  # also the toxicity pool's rows (weight 0.25)
    hashing: dict[str, Any]  # LexicalConfig settings
    c_grid: tuple[float, ...]


class Round(NamedTuple):
    baseline: str | None  # a round-1 candidate, or None: the encoder alone
    min_gain: float  # (P): the mean AUPRC gain a candidate needs
    candidates: dict[str, Candidate]


ROUNDS: dict[int, Round] = {
    1: Round(None, 0.5, {"lx-a": Candidate(False, {}, (0.25, 1.0, 4.0)), "lx-b": Candidate(True, {}, (0.25, 1.0, 4.0))}),
    2: Round("lx-a", 0.3, {"lx-c": Candidate(False, {}, (4.0, 16.0, 64.0)),
                           "lx-d": Candidate(False, {"bits": 20, "word_ngrams": (1, 3)}, (4.0, 16.0, 64.0))}),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, required=True, help="the data/train folder")
    ap.add_argument("--base", type=Path, required=True, help="artifact without an n-gram stage (whose scores were saved)")
    ap.add_argument("--val-scores", type=Path, required=True, help="val_compare.py --save-scores file of the val split")
    ap.add_argument("--cal-scores", type=Path, required=True, help="val_compare.py --save-scores file of the cal split")
    ap.add_argument("--out", type=Path, help="write each candidate's stage to <out>/<name>/")
    ap.add_argument("--round", type=int, choices=sorted(ROUNDS), default=1, help="which round's candidates (default 1)")
    args = ap.parse_args()

    from sklearn.metrics import average_precision_score

    from guardkit.backends._lexical import LexicalConfig
    from guardkit.train.builtin import TASKS, TrainConfig, best_mean_f1_threshold, f1_at, row_weights
    from guardkit.train.data import Example, split_of, toxicity_pool
    from guardkit.train.lexical import fit_lexical, pool_rows, stacked_probs

    meta = json.loads((args.base / "meta.json").read_text(encoding="utf-8"))
    if "lexical" in meta:
        ap.error(f"--base {args.base} already has an n-gram stage: give the encoder alone")
    cfg = TrainConfig.from_meta(meta["config"])
    own, _ = cfg.mix(args.data_dir)
    w = row_weights(own, cfg.set_weights) if cfg.set_weights else np.ones(len(own), dtype=np.float32)
    tr = [i for i, e in enumerate(own) if split_of(e, cfg.seed) == "train"]
    train, tw = [own[i] for i in tr], w[tr].astype(np.float64)

    def load(f: Path) -> dict[str, np.ndarray]:
        with np.load(f) as z:
            return {k: z[k] for k in z.files}

    def rows(z: dict[str, np.ndarray]) -> list[Example]:
        out = []
        for pr, rs, y in zip(z["prompt"], z["response"], z["y"], strict=True):
            lab = [None if np.isnan(v) else int(v) for v in y[:3]]
            out.append(Example(str(pr), str(rs) if rs else None, lab[0], lab[1], lab[2]))
        return out

    val_z, cal_z = load(args.val_scores), load(args.cal_scores)
    keep = np.array([g not in _HELD_OUT for g in cal_z["group"]])
    cal, cal_p = [e for e, k in zip(rows(cal_z), keep, strict=True) if k], cal_z["p"][keep]
    val = rows(val_z)
    g, prompts = val_z["group"], [str(x) for x in val_z["prompt"]]
    if not any(x.startswith("written-r6 (") for x in g) or not any(x.startswith("hh-labels-last (") for x in g):
        ap.error("--val-scores lacks the held-out groups: run val_compare.py with --held-out written-r6 --held-out hh-labels-last")
    groups = {
        "val": np.array(["held out" not in x for x in g]),
        "r6-en": np.array([x.startswith("written-r6 (") and not _HANGUL.search(p) for x, p in zip(g, prompts, strict=True)]),
        "r6-ko": np.array([x.startswith("written-r6 (") and bool(_HANGUL.search(p)) for x, p in zip(g, prompts, strict=True)]),
        "hh-last": np.array([x.startswith("hh-labels-last (") for x in g]),
        "lm-val": g == "lm-replies",
    }
    y = val_z["y"][:, :3]

    def score(p: np.ndarray, thr: dict[str, float]) -> dict[tuple[str, str], tuple[float, float]]:
        res = {}
        for name, m in groups.items():
            for k, t in enumerate(TASKS):
                mm = m & ~np.isnan(y[:, k])
                if y[mm, k].sum() >= 20:
                    res[(name, t)] = (100 * average_precision_score(y[mm, k], p[mm, k]), 100 * f1_at(p[mm, k], y[mm, k], thr[t]))
        return res

    pool, counts = toxicity_pool(args.data_dir, cfg.seed)
    held = [p for p, x in zip(prompts, g, strict=True) if "held out" in x]
    extra = pool_rows(pool, own, cfg.seed, held)
    print(f"mix {len(own)} rows, train split {len(train)}; pool {counts}, {len(extra)} new train-split rows", flush=True)

    def candidate(spec: Candidate) -> tuple[Any, np.ndarray, dict[str, float]]:
        trows, tws = (train + extra, np.r_[tw, np.full(len(extra), 0.25)]) if spec.pool else (train, tw)
        fit = fit_lexical(trows, tws, cal, cal_p, LexicalConfig(**spec.hashing), spec.c_grid)
        probs = stacked_probs(fit.model, val_z["p"], [e.prompt for e in val], [e.response or "" for e in val])
        thr = {}
        for k, t in enumerate(TASKS):
            gs = [(probs[m & ~np.isnan(y[:, k]), k], y[m & ~np.isnan(y[:, k]), k]) for m in (groups["val"], groups["hh-last"])]
            thr[t] = best_mean_f1_threshold([x for x in gs if np.nansum(x[1])])[0]
        return fit, probs, thr

    plan = ROUNDS[args.round]
    if plan.baseline is None:
        base = score(val_z["p"], meta["thresholds"])
    else:
        _, base_p, base_thr = candidate(ROUNDS[1].candidates[plan.baseline])
        base = score(base_p, base_thr)
    print(f"round {args.round}: {sorted(plan.candidates)} against {plan.baseline or 'the encoder alone'}", flush=True)
    for name, spec in plan.candidates.items():
        fit, probs, thr = candidate(spec)
        res = score(probs, thr)
        print(f"\n== {name}: thresholds {thr}; fit {json.dumps(fit.report)}")
        for key, (a0, f0) in base.items():
            a1, f1 = res[key]
            print(f"  {key[0]:8s} {key[1]:17s} AUPRC {a0:5.1f} -> {a1:5.1f} ({a1 - a0:+.1f})   F1 {f0:5.1f} -> {f1:5.1f}")
        d_ap = [res[k][0] - base[k][0] for k in base]
        d_f1 = [res[k][1] - base[k][1] for k in base]
        gain = plan.min_gain
        ok = np.mean(d_ap) >= gain and min(d_ap) >= -1.0 and np.mean(d_f1) >= 0
        print(f"  (P) mean AUPRC gain {np.mean(d_ap):+.2f} [>= +{gain}]  (G) worst {min(d_ap):+.2f} [>= -1.0]  "
              f"(F) mean F1 gain {np.mean(d_f1):+.2f} [>= 0]: {'pass' if ok else 'fail'}", flush=True)
        if args.out:
            folder = args.out / name
            folder.mkdir(parents=True, exist_ok=True)
            entry = fit.model.save(folder)
            (folder / "meta.json").write_text(json.dumps({"lexical": entry, "thresholds": thr}, indent=1) + "\n",
                                              encoding="utf-8")


if __name__ == "__main__":
    main()
