"""The Korean route's selection (round "lk"): an artifact with it against the same artifact without it.

Run (scores first, both artifacts in one val_compare.py run so that the rows are the same):
    PYTHONPATH=src python benchmarks/val_compare.py --data-dir ../shared/data/train \
        --artifact runs/lx --artifact runs/lk --cache-dir runs/cache \
        --extra-sets contrast,ko-dialogues,hh-labels,chat,written,written-r4,written-r5,lm-replies,written-r7,written-r6,hh-labels-last,written-r8,written-r9 \
        --held-out written-r6 --held-out hh-labels-last --held-out written-r9 --save-scores runs/scores-lk
    PYTHONPATH=src python benchmarks/korean_route_select.py runs/scores-lk/lx.npz runs/scores-lk/lk.npz
Round lk2 (lk against lk with rounds 10 and 11 added): add written-r10,written-r11 to --extra-sets, --held-out
written-r11, and ``--round lk2`` here.

Groups, Korean rows only (a row is Korean for a task when the texts the task reads are, as the route
decides): ``ko-val`` the val split's Korean rows (written-r8's val rows included), ``r6-ko`` round 6's
Korean rows (held out), ``r9-req`` / ``r9-dlg`` round 9's short requests / multi-line conversations (held
out: other authors, never trained on), ``r11-pair`` round 11's minimal pairs (held out) when scored. Per
group x task with >= 20 positives: AUPRC and F1 at the stored thresholds; then the round's rule of
docs/model-card.md, written before its candidate existed. Both: (E) every non-Korean row scores the same
(max abs diff < 1e-6); (F) mean F1 gain over the groups >= 0. lk: (K) mean prompt-harm AUPRC gain over
r6-ko, r9-req, r9-dlg >= +1.0; (G) no group x task loses more than 1.0 AUPRC. lk2: (K) r11-pair's prompt-harm
AUPRC gain >= +1.0 and its F1 gain >= 0; (G) no other group x task loses more than 1.0 AUPRC.
Also the share of harmless round 9 requests / conversations flagged and of harmful ones caught.
Rows of data/train only; nothing under data/eval is read.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("base", type=Path, help="val_compare.py --save-scores file of the artifact without the route")
    ap.add_argument("candidate", type=Path, help="the same for the artifact with it (same val_compare run)")
    ap.add_argument("--round", choices=("lk", "lk2"), default="lk", help="which round's rule (default lk)")
    args = ap.parse_args()

    from sklearn.metrics import average_precision_score

    from guardkit.backends._lexical import TASK_TEXTS
    from guardkit.train.builtin import TASKS, f1_at
    from guardkit.train.data import Example
    from guardkit.train.lexical import korean_rows

    def load(f: Path) -> dict[str, np.ndarray]:
        with np.load(f) as z:
            return {k: z[k] for k in z.files}

    a, b = load(args.base), load(args.candidate)
    if len(a["p"]) != len(b["p"]) or not (a["prompt"] == b["prompt"]).all():
        ap.error("the two files do not hold the same rows: score both artifacts in one val_compare.py run")
    prompts, responses, group, source = a["prompt"], a["response"], a["group"], a["source"]
    y = a["y"][:, :3]
    rows = [Example(str(p), str(r) or None) for p, r in zip(prompts, responses, strict=True)]
    ko = {t: np.array([korean_rows(e, t) for e in rows]) for t in TASK_TEXTS}
    r9 = source == "synthetic-agent-written-r9"
    dialog = np.array(["\n" in str(p) for p in prompts])
    base_groups = {
        "ko-val": np.array(["held out" not in str(g) for g in group]),
        "r6-ko": np.array([str(g).startswith("written-r6 (") for g in group]),
        "r9-req": r9 & ~dialog,
        "r9-dlg": r9 & dialog,
        "r11-pair": source == "synthetic-agent-written-r11",
    }
    if args.round == "lk2" and not base_groups["r11-pair"].any():
        ap.error("--round lk2 needs round 11's rows: --extra-sets ...,written-r11 --held-out written-r11")

    diff = max(float(np.nanmax(np.abs(a["p"][~ko[t], k] - b["p"][~ko[t], k]), initial=0.0)) for k, t in enumerate(TASKS))
    print(f"non-Korean rows: {int(sum((~ko[t]).sum() for t in TASKS))} row x task scores, max abs diff {diff:.2e}")
    res: dict[tuple[str, str], tuple[float, float, float, float]] = {}
    for name, m in base_groups.items():
        for k, t in enumerate(TASKS):
            mm = m & ko[t] & ~np.isnan(y[:, k])
            if y[mm, k].sum() < 20:
                continue
            ap0, ap1 = (100 * average_precision_score(y[mm, k], z["p"][mm, k]) for z in (a, b))
            thr0, thr1 = float(a["thresholds"][k]), float(b["thresholds"][k])
            f0, f1 = 100 * f1_at(a["p"][mm, k], y[mm, k], thr0), 100 * f1_at(b["p"][mm, k], y[mm, k], thr1)
            res[(name, t)] = (ap0, ap1, f0, f1)
            print(f"  {name:7s} {t:17s} n={int(mm.sum()):5d} pos={int(y[mm, k].sum()):4d}  AUPRC {ap0:5.1f} -> {ap1:5.1f} "
                  f"({ap1 - ap0:+.1f})   F1 {f0:5.1f} -> {f1:5.1f} ({f1 - f0:+.1f})")
    for name in ("r9-req", "r9-dlg", "r11-pair"):
        m = base_groups[name] & ko["prompt_harmful"]
        for label, sel in (("harmless flagged", m & (y[:, 0] == 0)), ("harmful caught", m & (y[:, 0] == 1))):
            if not sel.any():
                continue
            rates = [100 * np.mean(z["p"][sel, 0] >= float(z["thresholds"][0])) for z in (a, b)]
            print(f"  {name} {label}: {rates[0]:.1f} % -> {rates[1]:.1f} % (of {int(sel.sum())})")
    f_gain = np.mean([v[3] - v[2] for v in res.values()])
    if args.round == "lk":
        k_gain = np.mean([res[(g, "prompt_harmful")][1] - res[(g, "prompt_harmful")][0]
                          for g in ("r6-ko", "r9-req", "r9-dlg") if (g, "prompt_harmful") in res])
        k_ok, k_text = k_gain >= 1.0, f"mean prompt AUPRC gain {k_gain:+.2f} [>= +1.0]"
        worst = min(v[1] - v[0] for v in res.values())
    else:
        a0, a1, f0, f1 = res[("r11-pair", "prompt_harmful")]
        k_ok, k_text = a1 - a0 >= 1.0 and f1 - f0 >= 0, f"r11-pair AUPRC {a1 - a0:+.2f} [>= +1.0], F1 {f1 - f0:+.2f} [>= 0]"
        worst = min(v[1] - v[0] for key, v in res.items() if key[0] != "r11-pair")
    ok = diff < 1e-6 and k_ok and worst >= -1.0 and f_gain >= 0
    print(f"{args.round}: (E) max abs diff {diff:.1e} [< 1e-6]  (K) {k_text}  "
          f"(G) worst {worst:+.2f} [>= -1.0]  (F) mean F1 gain {f_gain:+.2f} [>= 0]: {'pass' if ok else 'fail'}")


if __name__ == "__main__":
    main()
