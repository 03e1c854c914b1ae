"""Assemble the agent-written set and check it against every text under data/eval/.

    python tools/agent_written.py near-dups FILE... --eval-dir ../shared/data/eval
    python tools/agent_written.py assemble RAW... --eval-dir ../shared/data/eval --out src/guardkit/train/labels/agent-written.jsonl

``near-dups`` prints each prompt or response whose normalised text equals an eval string or
shares at least ``--min-shared`` of its 6-word shingles with the eval texts (10-character shingles
for texts under 6 words, as in Korean comments). ``assemble`` joins raw files in order, drops those rows
and exact duplicates, checks every kept row with ``written_set`` and writes the shipped file.
This is decontamination only: eval texts are never used for anything else.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from guardkit.io import RowError, read_rows  # noqa: E402
from guardkit.train.data import norm, written_set  # noqa: E402

K = 6


def _strings(obj: Any) -> Iterator[str]:
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)


def eval_texts(eval_dir: Path) -> Iterator[str]:
    """Every string cell of every data file under ``eval_dir``: .jsonl/.csv/.parquet through
    :func:`guardkit.io.read_rows`, plus whole .json documents and tab-separated .tsv/.txt files."""
    csv.field_size_limit(10**9)
    for f in sorted(eval_dir.rglob("*")):
        if not f.is_file() or f.name == "SOURCE.txt" or f.suffix == ".md":
            continue
        if f.suffix in (".jsonl", ".csv", ".parquet"):
            for _, row in read_rows(f):
                if isinstance(row, RowError):  # an unreadable row would leave a gap in the check
                    raise SystemExit(f"error: {row.message}")
                yield from _strings(row)
        elif f.suffix == ".json":
            yield from _strings(json.loads(f.read_text(encoding="utf-8")))
        elif f.suffix in (".tsv", ".txt"):
            with f.open(encoding="utf-8", errors="replace", newline="") as fh:
                for cells in csv.reader(fh, delimiter="\t"):
                    yield from cells


def shingles(text: str) -> set[str]:
    words = text.split()
    if len(words) >= K:
        return {" ".join(words[i:i + K]) for i in range(len(words) - K + 1)}
    chars = text.replace(" ", "")
    return {chars[i:i + 10] for i in range(len(chars) - 9)}


class EvalIndex:
    def __init__(self, eval_dir: Path) -> None:
        if not eval_dir.is_dir():
            raise SystemExit(f"error: eval folder {eval_dir} not found")
        self.exact: set[str] = set()
        self.shingles: set[str] = set()
        for t in eval_texts(eval_dir):
            n = norm(t)
            if n:
                self.exact.add(n)
                self.shingles |= shingles(n)

    def hit(self, text: str, min_shared: float) -> tuple[bool, float]:
        n = norm(text)
        s = shingles(n)
        shared = len(s & self.shingles) / len(s) if s else 0.0
        return n in self.exact or shared >= min_shared, shared


def read_raw(paths: list[Path]) -> list[tuple[Path, int, dict[str, Any]]]:
    """``(file, line, row)`` for every row of the raw files, in order."""
    out = []
    for path in paths:
        for i, row in read_rows(path):
            if isinstance(row, RowError):
                raise SystemExit(f"error: {row.message}")
            out.append((path, i, row))
    return out


def near_dups(rows: list[tuple[Path, int, dict[str, Any]]], index: EvalIndex, min_shared: float) -> set[tuple[Path, int]]:
    """The rows whose prompt or response is a near-duplicate of an eval text (each printed)."""
    flagged: set[tuple[Path, int]] = set()
    for path, i, row in rows:
        for field in ("prompt", "response"):
            if row.get(field):
                hit, shared = index.hit(row[field], min_shared)
                if hit:
                    flagged.add((path, i))
                    print(f"{path}:{i}:{field} shared={shared:.2f} :: {row[field][:100]!r}")
    return flagged


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=("near-dups", "assemble"))
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--eval-dir", type=Path, required=True)
    ap.add_argument("--min-shared", type=float, default=0.3)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    missing = [str(p) for p in args.files if not p.is_file()]
    if missing:
        ap.error(f"not found: {', '.join(missing)}")
    if args.command == "assemble" and args.out is None:
        ap.error("assemble needs --out")
    rows = read_raw(args.files)
    flagged = near_dups(rows, EvalIndex(args.eval_dir), args.min_shared)
    print(f"flagged {len(flagged)}")
    if args.command == "assemble":
        seen: set[tuple[str, str]] = set()
        kept: list[str] = []
        for path, i, row in rows:
            key = (row["prompt"].strip(), (row["response"] or "").strip())
            if (path, i) not in flagged and key not in seen:
                seen.add(key)
                kept.append(json.dumps(row, ensure_ascii=False) + "\n")
        tmp = args.out.with_suffix(".tmp")
        tmp.write_text("".join(kept), encoding="utf-8")
        try:
            written_set(10**9, tmp)  # raises on any row that breaks the schema
            tmp.replace(args.out)
        finally:
            tmp.unlink(missing_ok=True)
        print(f"wrote {len(kept)} rows to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
