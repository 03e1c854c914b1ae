"""Render a :class:`~guardkit.eval.suites.SuiteResult`: Markdown table, JSON, CSV and plots.

``report.json`` has exactly the keys ``suite, backend, columns, mean_f1, data, params`` plus
extras: ``metrics`` (flat, column-prefixed names), ``categories``, ``oracle`` (best-threshold
F1 chosen on the test labels: an upper bound, never the headline), ``korean_gaps``,
``overrefusal``, ``published``, ``timings`` and ``limit``.
"""

from __future__ import annotations

import csv
import json
import logging
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from .._exceptions import DatasetError
from .._optional import require
from .metrics import reliability_bins
from .suites import PAPER_COLUMNS, ColumnResult, SuiteResult

__all__ = ["PublishedModel", "load_published", "markdown", "to_json", "write_report"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PublishedModel:
    """Published F1 (percent) per column key for one model, with a source id per column."""

    name: str
    f1: dict[str, float | None]
    source: dict[str, str]
    notes: str = ""

    @property
    def mean_f1(self) -> float | None:
        """Mean over the 13 paper columns, only when the source reports all of them."""
        vals = [self.f1.get(c.key) for c in PAPER_COLUMNS if c.in_mean]
        if any(v is None for v in vals):
            return None
        return sum(vals) / len(vals)  # type: ignore[arg-type]


def load_published(path: str | os.PathLike[str] | None = None) -> tuple[list[PublishedModel], dict[str, Any]]:
    """Read ``published.json`` (the packaged one by default): models and the sources table."""
    try:
        if path is None:
            text = resources.files("guardkit.eval").joinpath("published.json").read_text(encoding="utf-8")
        else:
            text = Path(path).read_text(encoding="utf-8")
        doc = json.loads(text)
        models = [PublishedModel(m["name"], dict(m["f1"]), dict(m.get("source", {})), m.get("notes", ""))
                  for m in doc["models"]]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise DatasetError(f"{path or 'guardkit/eval/published.json'}: cannot read published numbers: {exc}") from exc
    return models, dict(doc.get("sources", {}))


def _fmt(x: float | None, digits: int = 1) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def korean_gaps(result: SuiteResult) -> dict[str, dict[str, Any]]:
    """For each Korean column: its F1, the nearest English column's F1, and the gap (ko − en)."""
    out: dict[str, dict[str, Any]] = {}
    for c in result.columns:
        if c.column.nearest is None:
            continue
        ref = result.column(c.column.nearest)
        en = ref.metrics.f1 if ref is not None else None
        out[c.column.title] = {
            "f1": c.metrics.f1,
            "nearest": ref.column.title if ref is not None else c.column.nearest,
            "nearest_f1": en,
            "gap": None if en is None else c.metrics.f1 - en,
        }
    return out


def markdown(result: SuiteResult, published: list[PublishedModel] | None = None) -> str:
    """The report as Markdown: F1 table (ours next to published), then extras."""
    published = published if published is not None else load_published()[0]
    ours = f"guardkit:{result.backend}"
    lines: list[str] = []
    f1_cols = [c for c in result.columns if c.column.group in ("prompt", "response", "refusal")]
    if f1_cols:
        head = ["column", "n", ours, "P", "R", "parse err", *[m.name for m in published]]
        lines += [f"### F1 (%) — suite `{result.suite}`" + (f", first {result.limit} items per set" if result.limit else "")
                  + (f", random sample of {result.sample} items per set (seed {result.seed})" if result.sample else ""),
                  "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for c in f1_cols:
            m = c.metrics
            row = [c.column.title, str(m.n), f"**{m.f1:.1f}**", _fmt(m.precision), _fmt(m.recall), str(m.parse_errors),
                   *[_fmt(p.f1.get(c.column.key)) for p in published]]
            lines.append("| " + " | ".join(row) + " |")
        mean = result.mean_f1
        lines.append("| " + " | ".join(["**mean (13)**", "", f"**{_fmt(mean)}**", "", "", "",
                                         *[_fmt(p.mean_f1) for p in published]]) + " |")
        lines.append("")
    own = [c for c in result.columns if c.column.group == "labelled"]
    if own:
        lines += ["### Your labelled files", "", "| file · task | n | positives | F1 | P | R | AUPRC | parse err |",
                  "|---|---|---|---|---|---|---|---|"]
        for c in own:
            m = c.metrics
            lines.append(f"| {c.column.title} | {m.n} | {m.n_positive} | **{m.f1:.1f}** | {m.precision:.1f} | "
                         f"{m.recall:.1f} | {_fmt(m.auprc)} | {m.parse_errors} |")
        lines.append("")
    kor = korean_gaps(result)
    if kor:
        lines += ["### Korean (prompt harm) vs nearest English column", "",
                  "| column | n | F1 | P | R | nearest English | its F1 | gap |", "|---|---|---|---|---|---|---|---|"]
        for c in result.columns:
            if c.column.title in kor:
                g = kor[c.column.title]
                lines.append(f"| {c.column.title} | {c.metrics.n} | {c.metrics.f1:.1f} | {c.metrics.precision:.1f} | "
                             f"{c.metrics.recall:.1f} | {g['nearest']} | {_fmt(g['nearest_f1'])} | {_fmt(g['gap'])} |")
        lines.append("")
    over = [c for c in result.columns if c.column.group == "overrefusal"]
    if over:
        lines += ["### Over-refusal: benign prompts flagged harmful (false-positive rate, lower is better)", "",
                  "| set | n | FPR % | parse err |", "|---|---|---|---|"]
        for c in over:
            lines.append(f"| {c.column.title} | {c.metrics.n} | {_fmt(c.metrics.false_positive_rate)} | {c.metrics.parse_errors} |")
        lines.append("")
    scored = [c for c in result.columns if c.metrics.n_scored]
    if scored:
        lines += ["### Scores: AUPRC, calibration, and the oracle F1 (threshold tuned on the test labels — an upper bound, not a result)", "",
                  "| column | scored | AUPRC | ECE | oracle F1 | oracle thr. |", "|---|---|---|---|---|---|"]
        for c in scored:
            m = c.metrics
            lines.append(f"| {c.column.title} | {m.n_scored} | {_fmt(m.auprc)} | {_fmt(m.ece, 3)} | "
                         f"{_fmt(m.oracle_f1)} | {_fmt(m.oracle_threshold, 3)} |")
        lines.append("")
    if result.categories:
        lines += ["### Harmful prompts per category: recall (%) and the first category named", "",
                  "`typed`: flagged items that got a category; `top-1`: of those, % whose first category (as a Llama Guard 3 "
                  "code) is one the gold category maps to (`guardkit taxonomy`); – where none was typed or the gold has no code.",
                  "", "| source | category | n | recall | typed | top-1 |", "|---|---|---|---|---|---|"]
        for cat in result.categories:
            top1 = "–" if cat.top1 is None else f"{cat.top1:.1f}"
            lines.append(f"| {cat.source} | {cat.category} | {cat.n} | {cat.recall:.1f} | {cat.typed} | {top1} |")
        typed = sum(c.typed for c in result.categories)
        if typed:
            hit = sum(c.top_hit for c in result.categories)
            lines.append(f"| **all** | | {sum(c.n for c in result.categories)} | | {typed} | **{100 * hit / typed:.1f}** |")
        lines.append("")
    if result.prediction is not None:
        p = result.prediction
        lines.append(f"{p.n_items} unique items: {p.n_cached} from cache, {p.n_predicted} classified "
                     f"in {p.seconds:.1f}s; report built in {result.seconds:.1f}s.")
    return "\n".join(lines) + "\n"


def to_json(result: SuiteResult, published: list[PublishedModel] | None = None,
            sources: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``report.json`` document (see the module docstring for its keys)."""
    if published is None:
        published, sources = load_published()
    columns = {}
    oracle = {}
    for c in result.columns:
        d: dict[str, Any] = dict(c.metrics.to_dict())
        d.update({"key": c.column.key, "group": c.column.group, "in_mean": c.column.in_mean})
        columns[c.column.title] = d
        if c.metrics.oracle_f1 is not None:
            oracle[c.column.title] = {"oracle_f1": c.metrics.oracle_f1, "threshold": c.metrics.oracle_threshold,
                                      "note": "threshold chosen on the test labels; an upper bound only"}
    p = result.prediction
    return {
        "suite": result.suite,
        "backend": result.backend,
        "columns": columns,
        "mean_f1": result.mean_f1,
        "data": result.data,
        "params": result.params,
        "limit": result.limit,
        "sample": result.sample,
        "seed": result.seed,
        "metrics": result.metrics_dict(),
        "categories": [{"source": c.source, "category": c.category, "n": c.n, "flagged": c.flagged,
                        "recall": c.recall, "parse_errors": c.parse_errors,
                        "typed": c.typed, "top1": c.top1} for c in result.categories],
        "oracle": oracle,
        "korean_gaps": korean_gaps(result),
        "overrefusal": {c.column.title: {"fpr": c.metrics.false_positive_rate, "n": c.metrics.n}
                        for c in result.columns if c.column.group == "overrefusal"},
        "published": {
            "models": [{"name": m.name, "mean_f1": m.mean_f1, "notes": m.notes,
                        "f1": {c.column.title: m.f1.get(c.column.key) for c in result.columns if c.column.key in m.f1},
                        "source": {c.column.title: m.source.get(c.column.key) for c in result.columns
                                   if m.f1.get(c.column.key) is not None}}
                       for m in published],
            "sources": sources or {},
        },
        "timings": {
            "total_s": result.seconds,
            "items": p.n_items if p else None,
            "cached": p.n_cached if p else None,
            "predicted": p.n_predicted if p else None,
            "predict_s": p.seconds if p else None,
            "items_per_s": (p.n_predicted / p.seconds) if p and p.n_predicted and p.seconds > 0 else None,
        },
    }


CSV_FIELDS = ("column", "key", "group", "in_mean", "n", "n_positive", "f1", "precision", "recall", "accuracy",
              "false_positive_rate", "parse_errors", "tp", "fp", "fn", "tn", "n_scored", "auprc", "ece",
              "oracle_f1", "oracle_threshold")


def write_csv(result: SuiteResult, path: Path, published: list[PublishedModel]) -> None:
    names = [f"published:{m.name}" for m in published]
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow([*CSV_FIELDS, *names])
        for c in result.columns:
            d: dict[str, Any] = dict(c.metrics.to_dict())
            d.update(column=c.column.title, key=c.column.key, group=c.column.group, in_mean=c.column.in_mean)
            w.writerow([("" if d.get(f) is None else d.get(f)) for f in CSV_FIELDS]
                       + [("" if m.f1.get(c.column.key) is None else m.f1[c.column.key]) for m in published])
        if result.mean_f1 is not None:
            w.writerow(["mean (13)", "mean_f1", "", "", "", "", result.mean_f1] + [""] * (len(CSV_FIELDS) - 7)
                       + [("" if m.mean_f1 is None else round(m.mean_f1, 2)) for m in published])


def plot(result: SuiteResult, out: Path) -> list[Path]:
    """PR curves (one panel per column with scores) and reliability diagrams; returns the files."""
    scored = [c for c in result.columns if c.metrics.n_scored and any(c.gold) and not all(c.gold)]
    if not scored:
        logger.info("no column has scores for both classes: no plots")
        return []
    mpl = require("matplotlib", "eval")
    mpl.use("Agg")
    plt = require("matplotlib.pyplot", "eval")
    skm = require("sklearn.metrics", "eval")
    ncol = 4
    nrow = (len(scored) + ncol - 1) // ncol
    files = []

    def pairs(c: ColumnResult) -> tuple[list[bool], list[float]]:
        ps = [(g, s) for g, s in zip(c.gold, c.scores, strict=True) if s is not None]
        return [g for g, _ in ps], [float(s) for _, s in ps]

    def grid(draw: Any, title: str, name: str) -> None:
        """One subplot per scored column, drawn by ``draw(ax, column, y, s)``; saved as ``name``."""
        fig, axes = plt.subplots(nrow, ncol, figsize=(4 * ncol, 3.4 * nrow), squeeze=False)
        for ax, c in zip(axes.flat, scored, strict=False):
            draw(ax, c, *pairs(c))
            ax.set_xlim(0, 1)
        for ax in list(axes.flat)[len(scored):]:
            ax.axis("off")
        fig.suptitle(f"{title} — {result.backend} ({result.suite})")
        fig.tight_layout()
        files.append(out / name)
        fig.savefig(files[-1], dpi=90)
        plt.close(fig)

    def pr(ax: Any, c: ColumnResult, y: list[bool], s: list[float]) -> None:
        prec, rec, _ = skm.precision_recall_curve(y, s)
        ax.step(rec, prec, where="post")
        ax.set_title(f"{c.column.title}\nAUPRC {_fmt(c.metrics.auprc)}", fontsize=9)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("recall", fontsize=8)
        ax.set_ylabel("precision", fontsize=8)

    def reliability(ax: Any, c: ColumnResult, y: list[bool], s: list[float]) -> None:
        bins = [b for b in reliability_bins(y, s) if b.count]
        ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1)
        ax.bar([(b.lower + b.upper) / 2 for b in bins], [b.positive_rate for b in bins], width=0.09,
               alpha=0.7, edgecolor="black")
        ax.set_title(f"{c.column.title}\nECE {_fmt(c.metrics.ece, 3)}", fontsize=9)
        ax.set_ylim(0, 1)
        ax.set_xlabel("mean score", fontsize=8)
        ax.set_ylabel("positive rate", fontsize=8)

    grid(pr, "Precision-recall", "pr_curves.png")
    grid(reliability, "Reliability (10 bins)", "reliability.png")
    return files


def write_report(result: SuiteResult, out: str | os.PathLike[str], *, plots: bool = True) -> list[Path]:
    """Write ``report.json``, ``report.csv``, ``report.md`` and (optionally) the PNG plots."""
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    published, sources = load_published()
    doc = to_json(result, published, sources)
    tmp = out_dir / ".report.json.tmp"
    tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, out_dir / "report.json")
    write_csv(result, out_dir / "report.csv", published)
    (out_dir / "report.md").write_text(markdown(result, published), encoding="utf-8")
    files = [out_dir / "report.json", out_dir / "report.csv", out_dir / "report.md"]
    if plots:
        files += plot(result, out_dir)
    return files
