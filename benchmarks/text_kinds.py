"""How artifacts score the prompt-only rows of one agent-written round: per kind and per language.

Run:  PYTHONPATH=src python benchmarks/text_kinds.py --round 6 --artifact src/guardkit/data/builtin --artifact runs/art/r7h

For each artifact: per ``kind`` of prompt-only row (a text or request with no reply), rows, the harmful
label, the mean calibrated P(prompt harmful) and the share flagged at the artifact's own threshold; then
the prompt-harm AUPRC and F1 per language and pooled. A round that no artifact trained on is a held-out
check of false positives on harmless-but-sensitive text (docs/model-card.md).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    from guardkit.train.data import written_round_files

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--round", type=int, required=True, choices=sorted(written_round_files()),
                    help="agent-written round: its shipped file under guardkit/train/labels/")
    ap.add_argument("--artifact", type=Path, action="append", required=True, help="artifact folder (repeatable)")
    args = ap.parse_args()

    from sklearn.metrics import average_precision_score, f1_score

    from guardkit.backends.builtin import BuiltinClassifier

    path = written_round_files()[args.round]
    for a in args.artifact:
        if not (a / "weights.npz").is_file():
            ap.error(f"{a}: not an artifact folder (no weights.npz)")
    rows = [r for r in map(json.loads, path.read_text(encoding="utf-8").splitlines()) if r["response"] is None]
    if not rows:
        ap.error(f"{path}: no prompt-only rows")
    y = [int(r["prompt_harmful"]) for r in rows]
    for a in args.artifact:
        clf = BuiltinClassifier(artifact=a)
        vs = clf.classify([r["prompt"] for r in rows])
        s = [v.prompt_harmful.score for v in vs]
        f = [int(bool(v.prompt_harmful.label)) for v in vs]
        print(f"\n{a}  (threshold {clf.thresholds.prompt_harmful:.2f})")
        print(f"  {'kind':22s}    n  label  mean P  flagged")
        for k in sorted({r["kind"] for r in rows}):
            js = [j for j, r in enumerate(rows) if r["kind"] == k]
            print(f"  {k:22s} {len(js):4d}  {sum(y[j] for j in js) / len(js):5.2f}  {sum(s[j] for j in js) / len(js):6.2f}"
                  f"  {sum(f[j] for j in js) / len(js):7.2f}")
        for lang in ("ko", "en", "all"):
            js = [j for j, r in enumerate(rows) if lang in ("all", r["lang"])]
            yy = [y[j] for j in js]
            if not js or len(set(yy)) < 2:
                continue
            ap_ = 100 * average_precision_score(yy, [s[j] for j in js])
            f1 = 100 * f1_score(yy, [f[j] for j in js])
            print(f"  {lang:4s} n={len(js):4d}  prompt AUPRC {ap_:.1f}  F1 {f1:.1f}")


if __name__ == "__main__":
    main()
