"""Which benchmark items the built-in model's Korean route reads: per column, items whose texts are Korean.

Run:  PYTHONPATH=src python benchmarks/korean_route_reach.py --data-dir ../shared/data [--suite paper]

The route (docs/model-card.md, "Korean route") changes the scores of Korean texts only, so a column with
no such item scores exactly as it did without the route: this is how the paper table of lx carries over
to lk2 unchanged. Counts an item when the texts any task reads are Korean (``guardkit.backends._lexical.task_text``
and ``is_korean``, as the route decides). Reads the eval files'
texts only; no model is run.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main() -> None:
    from guardkit.backends._lexical import TASK_TEXTS, is_korean, task_text
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
        n = sum(1 for it in items if any(is_korean(task_text(t, it.prompt, it.response or "")) for t in TASK_TEXTS))
        print(f"{c.dataset:24s} {len(items):6d} items, {n:6d} on the Korean route")


if __name__ == "__main__":
    main()
