"""Which benchmark items the built-in model's Korean route reads: per column, items whose texts are Korean.

Run:  PYTHONPATH=src python benchmarks/korean_route_reach.py --data-dir ../shared/data [--suite paper]

The route (docs/model-card.md, "Korean route") changes the scores of Korean texts only, so a column with
no such item scores exactly as it did without the route: this is how the paper table of lx carries over
to lk2 unchanged. Counts an item when the prompt, the response or both together are Korean
(``guardkit.backends._lexical.is_korean``), the texts the route's tasks read. Reads the eval files'
texts only; no model is run.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main() -> None:
    from guardkit.backends._lexical import is_korean
    from guardkit.eval.datasets import LOADERS
    from guardkit.eval.suites import SUITES, _suite_columns

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, required=True, help="the data folder holding eval/")
    ap.add_argument("--suite", choices=SUITES, default="all")
    args = ap.parse_args()
    seen: set[str] = set()
    for c in _suite_columns(args.suite):
        if c.dataset in seen:
            continue
        seen.add(c.dataset)
        items = LOADERS[c.dataset](args.data_dir).items
        n = sum(1 for it in items if any(is_korean(t) for t in (it.prompt, it.response or "",
                                                                  it.prompt + "\n" + (it.response or ""))))
        print(f"{c.dataset:24s} {len(items):6d} items, {n:6d} on the Korean route")


if __name__ == "__main__":
    main()
