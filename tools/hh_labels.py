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

from guardkit.train.data import HH_LABELS, eval_overlap, exchange_sha, hh_exchange, hh_turns, norm  # noqa: E402

FOLDER = "hh-rlhf-harmless-base-test"


def _rows(data_dir: Path) -> list[dict]:
    with open(data_dir / FOLDER / "test.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _candidates(rows: list[dict], last: bool) -> list[tuple[str, tuple[str, str], list[str]]]:
    """(id, (prompt, reply), earlier turns): first exchanges (both replies of single-turn transcripts),
    or with ``last`` the last exchange of multi-turn ones (both replies)."""
    out = []
    for i, row in enumerate(rows):
        for side in ("chosen", "rejected"):
            turns = hh_turns(row, side)
            single_turn = len(turns) == 2
            if last and len(turns) >= 4:
                pair, id_, context = hh_exchange(row, side, last=True), f"{i}:{side}:last", turns[:-2]
            elif not last and (side == "chosen" or single_turn):  # multi-turn transcripts share their first exchange
                pair, id_, context = hh_exchange(row, side), f"{i}:{side}", []
            else:
                continue
            if pair:
                out.append((id_, pair, context))
    return out


def export(data_dir: Path, out: Path, parts: int, last: bool) -> None:
    overlap = eval_overlap(data_dir / FOLDER)
    seen: set[str] = set()
    items = []
    for id_, pair, context in _candidates(_rows(data_dir), last):
        key = exchange_sha(*pair)
        if norm(pair[0]) in overlap or norm(pair[1]) in overlap or key in seen:
            continue
        seen.add(key)
        items.append(_item(id_, pair, context))
    _write_parts(items, out, parts)
    print(f"{len(items)} exchanges in {parts} parts under {out}")


def _item(id_: str, pair: tuple[str, str], context: list[str]) -> dict[str, str]:
    """One item to label; earlier turns go in ``context`` for the reader only (cut to 1,200 characters)."""
    item = {"id": id_}
    if context:
        item["context"] = "\n".join(("H: " if k % 2 == 0 else "A: ") + t for k, t in enumerate(context))[-1200:]
    return item | {"prompt": pair[0], "response": pair[1][:1500]}


def _write_parts(items: list[dict[str, str]], out: Path, parts: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for k in range(parts):
        with open(out / f"part-{k}.jsonl", "w", encoding="utf-8") as f:
            f.writelines(json.dumps(it, ensure_ascii=False) + "\n" for it in items[k::parts])


def export_revision(data_dir: Path, out: Path, parts: int, pattern: str, labels: Path = HH_LABELS) -> None:
    """Write the labelled exchanges whose (p, r, h) equal ``pattern`` (e.g. "1,0,0") for a second look."""
    if not re.fullmatch(r"[01],[01],[01]", pattern):
        raise SystemExit(f"--pattern must be three 0/1 labels p,r,h such as 1,0,0; got {pattern!r}")
    want = tuple(int(x) for x in pattern.split(","))
    rows = _rows(data_dir)
    items = []
    for line in labels.read_text(encoding="utf-8").splitlines():
        x = json.loads(line)
        if (x["p"], x["r"], x["h"]) != want:
            continue
        i, side, *turn = x["id"].split(":")
        pair = hh_exchange(rows[int(i)], side, last=bool(turn))
        assert pair is not None
        items.append(_item(x["id"], pair, hh_turns(rows[int(i)], side)[:-2] if turn else []))
    _write_parts(items, out, parts)
    print(f"{len(items)} exchanges labelled {want} in {parts} parts under {out}")


def assemble(data_dir: Path, labels: list[Path], dest: Path, revisions: list[Path] | None = None) -> None:
    rows = _rows(data_dir)
    got, skipped = [], 0
    for f in sorted(p for d in labels for p in d.glob("part-*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            x = json.loads(line)
            if x.get("skip"):  # cannot be judged without the earlier turns: left out
                skipped += 1
                continue
            i, side, *turn = x["id"].split(":")
            pair = hh_exchange(rows[int(i)], side, last=bool(turn))
            if pair is None or any(x[k] not in (0, 1) for k in "prh"):
                raise SystemExit(f"{f}: bad line {line!r}")
            got.append((int(i), x["id"], {"id": x["id"], "sha": exchange_sha(*pair), "p": x["p"], "r": x["r"], "h": x["h"]}))
    revised = {}
    for f in sorted(p for d in revisions or [] for p in d.glob("part-*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            x = json.loads(line)
            if set(x) - {"id", "p", "r", "h"} or any(x[k] not in (0, 1) for k in set(x) - {"id"}):
                raise SystemExit(f"{f}: bad revision {line!r}")
            revised[x.pop("id")] = x
    for _, id_, g in got:
        g.update(revised.pop(id_, {}))
    if revised:
        raise SystemExit(f"revisions for unknown ids: {sorted(revised)[:5]}")
    got.sort(key=lambda t: (t[0], t[1]))
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text("".join(json.dumps(g) + "\n" for _, _, g in got), encoding="utf-8")
    print(f"{len(got)} labelled exchanges ({skipped} skipped) -> {dest}: prompt harmful {sum(g['p'] for *_, g in got)}, "
          f"refusal {sum(g['r'] for *_, g in got)}, response harmful {sum(g['h'] for *_, g in got)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export")
    e.add_argument("--data-dir", type=Path, required=True)
    e.add_argument("--out", type=Path, required=True)
    e.add_argument("--parts", type=int, default=8)
    e.add_argument("--last", action="store_true", help="the last exchange of multi-turn transcripts (with context)")
    a = sub.add_parser("assemble")
    a.add_argument("--data-dir", type=Path, required=True)
    a.add_argument("--labels", type=Path, action="append", required=True, help="folder of part-*.jsonl (repeat)")
    a.add_argument("--dest", type=Path, default=HH_LABELS)
    r = sub.add_parser("revise", help="export the exchanges with one label pattern for a second look")
    r.add_argument("--data-dir", type=Path, required=True)
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--parts", type=int, default=8)
    r.add_argument("--pattern", required=True, help="p,r,h labels to select, e.g. 1,0,0")
    a.add_argument("--revisions", type=Path, action="append", default=[],
                   help="folder of part-*.jsonl with {id, and the labels to change} (repeat)")
    args = ap.parse_args()
    if args.cmd == "export":
        export(args.data_dir, args.out, args.parts, args.last)
    elif args.cmd == "revise":
        export_revision(args.data_dir, args.out, args.parts, args.pattern)
    else:
        assemble(args.data_dir, args.labels, args.dest, args.revisions)


if __name__ == "__main__":
    main()
