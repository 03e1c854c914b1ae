"""How ``src/guardkit/train/labels/hh-rlhf-harmless-base-test.jsonl`` was made (the ``hh-labels`` set).

  python tools/hh_labels.py export --data-dir ../shared/data/train --out runs/label/in --parts 8
      writes the exchanges to label: the first Human/Assistant exchange of every transcript of
      hh-rlhf's harmless-base test split (both replies of single-turn ones), deduplicated, with
      strings listed in the folder's EVAL_OVERLAP.txt dropped; responses cut at 1,500 characters
      for reading.
  (label each part by hand against runs/label/GUIDE.md -> docs/model-card.md, "hh-labels":
      one JSON line per item, {"id", "p", "r", "h"})
  python tools/hh_labels.py assemble --data-dir ../shared/data/train --labels runs/label/out
      joins the labels to the texts and writes the package file: id, a fingerprint of the full
      texts, and the three labels. No text of the data set is stored in the package.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from guardkit.train.data import HH_LABELS, exchange_sha, hh_exchange, norm  # noqa: E402

FOLDER = "hh-rlhf-harmless-base-test"


def _rows(data_dir: Path) -> list[dict]:
    with open(data_dir / FOLDER / "test.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def export(data_dir: Path, out: Path, parts: int) -> None:
    overlap = {x.strip() for x in (data_dir / FOLDER / "EVAL_OVERLAP.txt").read_text(encoding="utf-8").splitlines()
               if x.strip() and not x.startswith("#")}
    seen: set[str] = set()
    items = []
    for i, row in enumerate(_rows(data_dir)):
        for side in ("chosen", "rejected"):
            pair = hh_exchange(row, side)
            single_turn = len(re.split(r"\n\nHuman: |\n\nAssistant: ", row[side])) == 3
            if pair is None or (side == "rejected" and not single_turn):
                continue  # multi-turn transcripts share their first exchange
            key = exchange_sha(*pair)
            if norm(pair[0]) in overlap or norm(pair[1]) in overlap or key in seen:
                continue
            seen.add(key)
            items.append({"id": f"{i}:{side}", "prompt": pair[0], "response": pair[1][:1500]})
    out.mkdir(parents=True, exist_ok=True)
    for k in range(parts):
        with open(out / f"part-{k}.jsonl", "w", encoding="utf-8") as f:
            f.writelines(json.dumps(it, ensure_ascii=False) + "\n" for it in items[k::parts])
    print(f"{len(items)} exchanges in {parts} parts under {out}")


def assemble(data_dir: Path, labels: Path, dest: Path) -> None:
    rows = _rows(data_dir)
    got = []
    for f in sorted(labels.glob("part-*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            x = json.loads(line)
            i, side = x["id"].split(":")
            pair = hh_exchange(rows[int(i)], side)
            if pair is None or any(x[k] not in (0, 1) for k in "prh"):
                raise SystemExit(f"{f}: bad line {line!r}")
            got.append((int(i), side, {"id": x["id"], "sha": exchange_sha(*pair), "p": x["p"], "r": x["r"], "h": x["h"]}))
    got.sort(key=lambda t: (t[0], t[1]))
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text("".join(json.dumps(g) + "\n" for _, _, g in got), encoding="utf-8")
    n = len(got)
    print(f"{n} labelled exchanges -> {dest}: prompt harmful {sum(g['p'] for *_, g in got)}, "
          f"refusal {sum(g['r'] for *_, g in got)}, response harmful {sum(g['h'] for *_, g in got)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export")
    e.add_argument("--data-dir", type=Path, required=True)
    e.add_argument("--out", type=Path, required=True)
    e.add_argument("--parts", type=int, default=8)
    a = sub.add_parser("assemble")
    a.add_argument("--data-dir", type=Path, required=True)
    a.add_argument("--labels", type=Path, required=True)
    a.add_argument("--dest", type=Path, default=HH_LABELS)
    args = ap.parse_args()
    if args.cmd == "export":
        export(args.data_dir, args.out, args.parts)
    else:
        assemble(args.data_dir, args.labels, args.dest)


if __name__ == "__main__":
    main()
