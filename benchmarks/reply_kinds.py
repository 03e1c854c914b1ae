"""How an artifact scores each kind of agent-written row, and its response-harm F1 / AUPRC per source set.

Run:  PYTHONPATH=src python benchmarks/val_compare.py --data-dir ../shared/data/train --artifact runs/h-mask \\
          --extra-sets contrast,ko-dialogues,hh-labels,hh-labels-last,chat,written,written-r4,written-r5 --save-scores runs/scores
      PYTHONPATH=src python benchmarks/reply_kinds.py runs/scores/h-mask.npz

Reads the scores that ``val_compare.py --save-scores`` wrote (rows of data/train only) and the
agent-written label files shipped in ``guardkit/train/labels/`` (to find each row's ``kind``). Prints,
per kind of agent-written row with a reply: rows, mean labels, mean calibrated scores and the share
flagged as a harmful response at the artifact's threshold; then, per source set with response-harm
labels, F1 at the artifact's threshold and AUPRC.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scores", type=Path, help="an .npz written by val_compare.py --save-scores")
    args = ap.parse_args()
    if not args.scores.is_file():
        ap.error(f"{args.scores}: no such file (write it with benchmarks/val_compare.py --save-scores DIR)")

    from sklearn.metrics import average_precision_score

    from guardkit.train.builtin import f1_at
    from guardkit.train.data import WRITTEN

    z = np.load(args.scores, allow_pickle=False)
    if "source" not in z.files:
        ap.error(f"{args.scores}: written by an older val_compare.py (no source / text columns); write it again")
    p, y, th = z["p"], z["y"], float(z["thresholds"][2])
    kind = {}
    for f in sorted(WRITTEN.parent.glob("agent-written*.jsonl")):  # every round with replies
        for line in f.read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            if r["response"] is not None:
                kind[(r["prompt"].strip(), r["response"].strip())] = r["kind"]
    rows: dict[str, list[int]] = {}
    for j, (pr, rs) in enumerate(zip(z["prompt"], z["response"], strict=True)):
        k = kind.get((str(pr), str(rs)))
        if k is not None:
            rows.setdefault(k, []).append(j)
    print(f"{'kind':28s}    n  prompt/harm labels | mean P(prompt harmful) P(refusal) P(response harmful) | flagged at {th:.2f}")
    for k, js in sorted(rows.items()):
        m = np.array(js)
        print(f"{k:28s} {len(m):4d}  {np.nanmean(y[m, 0]):.2f} {np.nanmean(y[m, 2]):.2f}"
              f"        | {p[m, 0].mean():.2f} {p[m, 1].mean():.2f} {p[m, 2].mean():.2f} | {np.mean(p[m, 2] >= th):.2f}")
    print(f"\n{'source':36s}    n   pos  F1@{th:.2f}  AUPRC")
    for s in sorted(set(z["source"].tolist())):
        m = np.array([j for j in np.flatnonzero(z["source"] == s) if not np.isnan(y[j, 2])], dtype=int)
        if len(m) == 0:
            continue
        pos = int(y[m, 2].sum())
        auprc = f"{100 * average_precision_score(y[m, 2], p[m, 2]):.1f}" if 0 < pos < len(m) else "-"
        print(f"{s:36s} {len(m):4d} {pos:5d}  {100 * f1_at(p[m, 2], y[m, 2], th):6.1f}  {auprc}")


if __name__ == "__main__":
    main()
