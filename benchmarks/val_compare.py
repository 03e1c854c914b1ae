"""Validation F1 of built-in model artifacts on the same rows of the training mix's val split.

Run:  PYTHONPATH=src python benchmarks/val_compare.py --data-dir ../shared/data/train \
          --artifact src/guardkit/data/builtin --artifact runs/v2 [--extra-sets contrast,ko-dialogues,hh-labels,hh-labels-last --held-out hh-labels-last]
          [--save-scores runs/scores] [--auprc] [--cache-dir runs/cache]

Builds the mix (with the extra sets, so that every artifact is scored on the same rows), runs
each artifact over the val rows (all 8 layers, 2 threads; with its n-gram stage when it has one, as the
backend scores) and prints, per artifact:
  * ``base rows``: the val rows of the mix without the extra sets (the rows every variant shares),
    best-threshold F1 per task and their mean (the stage-2 selection rule of docs/model-card.md);
  * per extra set (and per ``--union`` of them): F1 at the artifact's own thresholds on its val rows,
    and the mean over the tasks that have positives there;
  * per ``--held-out`` set: the same on all its rows (for a set none of the artifacts trained on);
  * with ``--auprc``, each group's AUPRC per task too: F1 at an artifact's own threshold mixes
    ranking with threshold placement, AUPRC measures the ranking alone;
  * with ``--categories``, top-1 accuracy and macro-F1 of the risk-category outputs on the split's
    harmful rows that carry one of guardkit's own category labels (train/labels/categories.jsonl).
``--split cal`` scores the cal rows instead: a confirmation split, since only Platt scalers (monotone)
were fitted there. ``--cache-dir`` reuses the head inputs that ``guardkit train head --cache-dir`` keeps,
so artifacts sharing an encoder are scored in seconds.
Rows of data/train only; nothing under data/eval is read.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

_SWEEP = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, required=True, help="the data/train folder")
    ap.add_argument("--artifact", type=Path, action="append", required=True, help="artifact folder (repeat)")
    ap.add_argument("--extra-sets", default="contrast,ko-dialogues,hh-labels,hh-labels-last", help="comma-separated (see guardkit train --extra-sets)")
    ap.add_argument("--union", action="append", default=[],
                    help="also score the union of these comma-separated extra sets' val rows (repeat)")
    ap.add_argument("--held-out", action="append", default=[],
                    help="also score ALL rows (every split) of this extra set: only for sets none of the artifacts "
                         "was trained on (repeat)")
    ap.add_argument("--sweep", choices=("prompt_harmful", "response_refusal", "response_harmful"),
                    help="also print this task's F1, share of negatives flagged and recall at thresholds 0.1 ... 0.95 "
                         "for every row group")
    ap.add_argument("--save-scores", type=Path,
                    help="also write <dir>/<artifact name>.npz: calibrated probabilities, labels, row group, source set and "
                         "texts of every scored row (benchmarks/reply_kinds.py reads it)")
    ap.add_argument("--auprc", action="store_true",
                    help="also print each row group's AUPRC per task (threshold-free: ranking, not threshold placement)")
    ap.add_argument("--categories", action="store_true",
                    help="also print category top-1 accuracy and macro-F1 on the split's harmful rows with our category labels")
    ap.add_argument("--cache-dir", type=Path,
                    help="read (and add to) the head inputs kept by `guardkit train head --cache-dir`: an artifact whose "
                         "encoder is cached there is scored in seconds instead of minutes")
    ap.add_argument("--split", choices=("val", "cal"), default="val",
                    help="score the val rows (default; what thresholds and the best epoch were picked on) or the cal rows "
                         "(only the Platt scalers were fitted there, so ranking and best-threshold F1 on them are untouched "
                         "by any choice: a confirmation split)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    import torch

    from guardkit.backends._builtin_model import load_artifact
    from guardkit.backends._e5 import E5Tokenizer, read_e5
    from guardkit.backends._lexical import logit
    from guardkit.train.builtin import (
        EXTRA_SETS,
        TASKS,
        TrainConfig,
        _category_scores,
        _encoder_tag,
        _final_probs,
        _head_inputs,
        _Inputs,
        _metrics,
        _predict,
        f1_at,
        prepare,
    )
    from guardkit.train.data import CATEGORY_LABELS, build_mix, read_category_labels, relabel_categories

    if args.auprc:
        from sklearn.metrics import average_precision_score
    torch.set_num_threads(args.threads)
    extra = tuple(x.strip() for x in args.extra_sets.split(",") if x.strip())
    cfg = TrainConfig.full(extra_sets=extra)
    e5 = read_e5()
    examples, stats = build_mix(args.data_dir, seed=cfg.seed, **cfg.mix_options())
    if args.categories:  # our own labels as category targets; the task labels stay as they are
        examples, _ = relabel_categories(examples, read_category_labels(CATEGORY_LABELS))
    prep = prepare(examples, stats, cfg, E5Tokenizer(e5))
    va = [i for i, s in enumerate(prep.splits) if s == args.split]
    source = {name: s.source for name, s in EXTRA_SETS.items()}  # the rows build_mix adds for each extra set
    groups = {"base rows": [j for j, i in enumerate(va) if examples[i].source not in source.values()]}
    for name in extra:
        groups[name] = [j for j, i in enumerate(va) if examples[i].source == source[name]]
    for union in args.union:
        names = [x.strip() for x in union.split(",") if x.strip()]
        if not set(names) <= set(extra):
            ap.error(f"--union {union}: every set must be among --extra-sets {extra}")
        groups["+".join(names)] = sorted(j for name in names for j in groups[name])
    idx = list(va)  # the rows scored: val rows, then the held-out sets' other rows
    for name in args.held_out:
        if name not in extra:
            ap.error(f"--held-out {name}: must be among --extra-sets {extra}")
        rows = [i for i, e in enumerate(examples) if e.source == source[name]]
        in_set = set(rows)
        groups[f"{name} (all rows, held out)"] = [j for j, i in enumerate(va) if i in in_set] + list(
            range(len(idx), len(idx) + sum(prep.splits[i] != args.split for i in rows)))
        idx += [i for i in rows if prep.splits[i] != args.split]
    print(f"{args.split} rows: {len(va)} ({', '.join(f'{g} {len(r)}' for g, r in groups.items())})")
    y_all = prep.y[idx]
    for art in args.artifact:
        meta = json.loads((art / "meta.json").read_text(encoding="utf-8"))
        bert, net = load_artifact(e5, meta, art / "weights.npz")
        if set(args.held_out) & set(meta["config"].get("extra_sets", [])):
            ap.error(f"{art} was trained on {sorted(set(args.held_out) & set(meta['config']['extra_sets']))}: not held out")
        tuned = set(args.held_out) & set(meta.get("thresholds_tuned", {}).get("sets", []))
        if tuned:
            print(f"note: {art}'s thresholds were tuned on {sorted(tuned)}: its F1 there is not held out (its AUPRC is)")
        inputs = _Inputs(bert, prep.windows, None, int(meta["config"]["n_frozen"]), torch.device("cpu"))
        if args.cache_dir:
            cache_file = args.cache_dir / f"features-{_encoder_tag(art / 'weights.npz')}.pt"
            net.eval()
            with torch.inference_mode():
                logits = net.head(_head_inputs(net, inputs, prep, 4096, cache_file, idx)).numpy()
        else:
            logits = _predict(net, inputs, idx, 4096)
        # calibrated, stacked with the n-gram stage when the artifact has one: as the backend reports
        probs = _final_probs(art, meta, logits, [examples[i] for i in idx])
        final = logit(probs)
        out = {}
        for g, rows in groups.items():
            m = _metrics(final[rows], y_all[rows], None, meta["thresholds"])
            out[g] = {t: (m[t]["best_f1"] if g == "base rows" else m[t]["f1"]) for t in TASKS if t in m and m[t]["pos"]}
        if args.sweep:
            k = TASKS.index(args.sweep)
            p = probs[:, k]
            y = y_all[:, k]
            for g, rows in groups.items():
                m = np.array([r for r in rows if not np.isnan(y[r])], dtype=int)
                if len(m) and y[m].sum():
                    curve = "  ".join(f"{th:.2f}:{100 * f1_at(p[m], y[m], th):.1f}" for th in _SWEEP)
                    print(f"  sweep {args.sweep} {g} F1: {curve}")
                    neg = m[y[m] == 0]
                    if len(neg):  # how often a negative row is flagged, and how many positives are caught
                        rates = "  ".join(f"{th:.2f}:{100 * np.mean(p[neg] >= th):.1f}/{100 * np.mean(p[m][y[m] == 1] >= th):.1f}"
                                          for th in _SWEEP)
                        print(f"  sweep {args.sweep} {g} flagged-negatives%/recall%: {rates}")
        if args.save_scores:
            group = np.full(len(idx), "", dtype=object)
            for g, rows in groups.items():
                group[rows] = g  # a row in several groups keeps the last (a held-out set's val rows: the held-out group)
            args.save_scores.mkdir(parents=True, exist_ok=True)
            np.savez(args.save_scores / f"{art.name}.npz", p=probs,
                     y=y_all, group=group.astype(str), thresholds=np.array([meta["thresholds"][t] for t in TASKS]),
                     source=np.array([examples[i].source for i in idx]), prompt=np.array([examples[i].prompt for i in idx]),
                     response=np.array([examples[i].response or "" for i in idx]))
        mean = np.mean([out["base rows"][t] for t in TASKS])
        print(f"\n{art}  base-rows mean best-F1 {mean:.2f}")
        if args.categories:
            harmful = [r for r in range(len(va)) if prep.cat[idx[r]] >= 0 and (y_all[r, 0] == 1 or y_all[r, 2] == 1)]
            c = _category_scores(np.argmax(logits[harmful, 3:], axis=1), prep.cat[[idx[r] for r in harmful]])
            print(f"  categories   {c['n']} harmful {args.split} rows with our labels: top-1 {c['accuracy']:.1f}  macro-F1 {c['macro_f1']:.1f}")
        for g, row in out.items():
            if not row:  # e.g. lm-replies on cal: its rows are all in val
                print(f"  {g:12s} no labelled rows in the {args.split} split")
                continue
            print(f"  {g:12s} " + "  ".join(f"{t} {v:.1f}" for t, v in row.items()) + f"  mean {np.mean(list(row.values())):.2f}")
            if args.auprc:
                ap_ = {}
                for k, t in enumerate(TASKS):
                    rows = [r for r in groups[g] if not np.isnan(y_all[r, k])]
                    if rows and np.nansum(y_all[rows, k]):
                        ap_[t] = 100 * average_precision_score(y_all[rows, k], final[rows, k])
                print(f"  {'':12s} AUPRC " + "  ".join(f"{t} {v:.1f}" for t, v in ap_.items())
                      + f"  mean {np.mean(list(ap_.values())):.2f}")


if __name__ == "__main__":
    main()
