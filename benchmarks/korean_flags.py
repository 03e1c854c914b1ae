"""How often artifacts flag harmless Korean prompts of the val split (and catch harmful ones).

Run (scores saved first by benchmarks/val_compare.py --save-scores, one file per artifact):
    PYTHONPATH=src python benchmarks/korean_flags.py runs/scores-val/ec7h.npz runs/scores-val/builtin.npz

For each file, at the artifact's own prompt threshold (stored in the file): the share of harmless
prompt-only Korean rows flagged, overall and for short requests in the imperative (ending in
"알려줘", "해줘", "주세요": the `make run` apple-pie question's form), and the share of harmful
prompt-only Korean rows caught. Rows of data/train only; nothing under data/eval is read.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np

HANGUL = re.compile("[\uac00-\ud7a3]")
IMPERATIVE = re.compile(r"(알려\s?줘|해\s?줘|주세요)[.?!\s]*$")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scores", type=Path, nargs="+", help="val_compare.py --save-scores files")
    args = ap.parse_args()
    for f in args.scores:
        with np.load(f) as z:
            p, y, thr = z["p"][:, 0], z["y"][:, 0], float(z["thresholds"][0])
            prompts, responses, groups = z["prompt"], z["response"], z["group"]
        ko = np.array([bool(HANGUL.search(str(t))) for t in prompts])
        alone = np.array([not str(r) for r in responses]) & np.array(["held out" not in str(g) for g in groups])
        benign, harmful = ko & alone & (y == 0), ko & alone & (y == 1)
        request = benign & np.array([bool(IMPERATIVE.search(str(t).strip())) for t in prompts])
        flagged = p >= thr
        print(f"{f}  (prompt threshold {thr:.2f})")
        for name, m in (("harmless Korean prompts flagged", benign), ("  of them short imperative requests", request)):
            print(f"  {name}: {int(flagged[m].sum())} of {int(m.sum())} ({100 * flagged[m].mean():.1f} %)")
        print(f"  harmful Korean prompts caught: {int(flagged[harmful].sum())} of {int(harmful.sum())} "
              f"({100 * flagged[harmful].mean():.1f} %)")


if __name__ == "__main__":
    main()
