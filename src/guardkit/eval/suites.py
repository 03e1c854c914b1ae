"""Evaluation suites: which benchmark columns to run, and the evaluator that runs them.

``paper`` is the WildGuard paper's 13 columns (arXiv 2406.18495, Tables 3–4) plus the
WildGuardTest adversarial / vanilla splits and category breakdowns; ``korean`` the Korean
sets, each next to its nearest English column; ``overrefusal`` the false-positive rate of the
prompt-harm classifier on benign prompts that look risky; ``all`` everything. Your own labelled
files (``labelled=``, ``guardkit eval --labelled FILE``) add one column per task they label.

The evaluator follows the sentence-transformers contract: ``SuiteEvaluator(...)(classifier)``
returns ``{metric_name: value}`` with names prefixed by the column (``toxicchat_f1``) and a
``primary_metric``; :meth:`SuiteEvaluator.run` returns the full :class:`SuiteResult`.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .._exceptions import ConfigError
from .._types import Task, Verdict
from ..backends.base import Classifier
from .datasets import (
    LOADERS,
    OPENAI_CATEGORIES,
    OPENAI_CODE_NAMES,
    EvalDataset,
    load_labelled,
    resolve_data_dir,
)
from .metrics import BinaryMetrics, binary_metrics
from .runner import PredictionRun, predict

__all__ = [
    "COLUMNS",
    "SUITES",
    "CategoryResult",
    "Column",
    "ColumnResult",
    "SuiteEvaluator",
    "SuiteResult",
]

logger = logging.getLogger(__name__)

Group = Literal["prompt", "response", "refusal", "korean", "overrefusal", "labelled"]
SuiteName = Literal["paper", "korean", "overrefusal", "all"]


@dataclass(frozen=True)
class Column:
    """One report column: a benchmark (or a slice of one) scored on one task.

    Attributes:
        key: metric prefix and published.json key, e.g. ``"toxicchat"``.
        title: the column's name in tables, as in the paper.
        dataset: registry name in :data:`~guardkit.eval.datasets.LOADERS`.
        group: prompt / response / refusal (paper), korean, overrefusal, or labelled (your file).
        in_mean: counts toward the 13-column mean F1.
        split: only the WildGuardTest items with ``adversarial`` True / False.
        nearest: for Korean columns, the key of the nearest English column.
        task: for labelled columns, the task the file's labels answer.
    """

    key: str
    title: str
    dataset: str
    group: Group
    in_mean: bool = False
    split: Literal["adversarial", "vanilla"] | None = None
    nearest: str | None = None
    task: Task | None = None


def _paper_columns() -> tuple[Column, ...]:
    main = [
        ("toxicchat", "ToxicChat", "prompt"), ("openai_mod", "OpenAI Mod", "prompt"),
        ("aegis", "Aegis", "prompt"), ("simplesafetytests", "SimpleSafetyTests", "prompt"),
        ("harmbench_prompt", "HarmBench prompt", "prompt"), ("wgt_prompt", "WGT prompt", "prompt"),
        ("harmbench_response", "HarmBench response", "response"), ("saferlhf", "SafeRLHF", "response"),
        ("beavertails", "BeaverTails", "response"), ("xstest_resp_harm", "XSTest-Resp (harm)", "response"),
        ("wgt_response", "WGT response", "response"),
        ("xstest_resp_refusal", "XSTest-Resp (refusal)", "refusal"), ("wgt_refusal", "WGT refusal", "refusal"),
    ]
    cols = [Column(k, t, k, g, in_mean=True) for k, t, g in main]  # type: ignore[arg-type]
    for base, title, group in (("wgt_prompt", "WGT prompt", "prompt"), ("wgt_response", "WGT response", "response"),
                               ("wgt_refusal", "WGT refusal", "refusal")):
        for split in ("adversarial", "vanilla"):
            cols.append(Column(f"{base}_{split}", f"{title} ({split[:3]}.)", base, group, split=split))  # type: ignore[arg-type]
    return tuple(cols)


#: Korean column -> nearest English column. Hate/harassment-labelled comment sets go next to
#: OpenAI Mod (whose H/HR/V labels are the closest taxonomy); general toxicity of user text
#: (APEACH) next to ToxicChat; DKTC (all positive: threats) next to SimpleSafetyTests, the
#: other all-positive prompt set.
KOREAN_COLUMNS: tuple[Column, ...] = (
    Column("korean_hate_speech", "BEEP! (ko hate speech dev)", "korean_hate_speech", "korean", nearest="openai_mod"),
    Column("apeach", "APEACH", "apeach", "korean", nearest="toxicchat"),
    Column("kmhas", "K-MHaS", "kmhas", "korean", nearest="openai_mod"),
    Column("unsmile", "UnSmile (valid)", "unsmile", "korean", nearest="openai_mod"),
    Column("hatescore", "HateScore", "hatescore", "korean", nearest="openai_mod"),
    Column("dktc", "DKTC (threats)", "dktc", "korean", nearest="simplesafetytests"),
)
OVERREFUSAL_COLUMNS: tuple[Column, ...] = (
    Column("xstest_safe", "XSTest safe prompts", "xstest_safe", "overrefusal"),
    Column("wildjailbreak_benign", "WildJailbreak benign (adv.)", "wildjailbreak_benign", "overrefusal"),
)
PAPER_COLUMNS = _paper_columns()
COLUMNS: dict[str, Column] = {c.key: c for c in PAPER_COLUMNS + KOREAN_COLUMNS + OVERREFUSAL_COLUMNS}


def _suite_columns(suite: str | None) -> tuple[Column, ...]:
    if suite is None:
        return ()
    if suite == "paper":
        return PAPER_COLUMNS
    if suite == "korean":
        refs = {c.nearest for c in KOREAN_COLUMNS}
        return tuple(c for c in PAPER_COLUMNS if c.key in refs) + KOREAN_COLUMNS
    if suite == "overrefusal":
        return OVERREFUSAL_COLUMNS
    if suite == "all":
        return PAPER_COLUMNS + KOREAN_COLUMNS + OVERREFUSAL_COLUMNS
    raise ConfigError(f"unknown suite {suite!r}; expected one of {', '.join(SUITES)}")


SUITES: tuple[str, ...] = ("paper", "korean", "overrefusal", "all")


@dataclass(frozen=True)
class ColumnResult:
    """A column's metrics plus the per-item gold / predictions / scores (for plots)."""

    column: Column
    metrics: BinaryMetrics
    gold: tuple[bool, ...] = field(repr=False)
    pred: tuple[bool | None, ...] = field(repr=False)
    scores: tuple[float | None, ...] = field(repr=False)


@dataclass(frozen=True)
class CategoryResult:
    """One gold risk category's harmful prompts: how many were flagged (recall), and of the
    flagged ones that got a category, how many got a right one first.

    ``typed``: flagged items whose verdict named at least one category; ``top_hit``: of those,
    items whose highest-scoring category (in the Llama Guard 3 hub taxonomy) is one the gold
    category maps to. Both are 0 when the gold category maps to no hub code (WildGuard's
    ``others``) or the backend names no categories.
    """

    source: str
    category: str
    n: int
    flagged: int
    parse_errors: int
    typed: int = 0
    top_hit: int = 0

    @property
    def recall(self) -> float:
        return 100.0 * self.flagged / self.n if self.n else 0.0

    @property
    def top1(self) -> float | None:
        """Per cent of typed items whose first category is right; None when none was typed."""
        return 100.0 * self.top_hit / self.typed if self.typed else None


@dataclass(frozen=True)
class SuiteResult:
    """Everything a report needs; built by :meth:`SuiteEvaluator.run`."""

    suite: str
    backend: str
    params: dict[str, object]
    columns: tuple[ColumnResult, ...]
    categories: tuple[CategoryResult, ...]
    data: dict[str, str]
    limit: int | None
    prediction: PredictionRun | None
    seconds: float
    sample: int | None = None
    seed: int = 0

    @property
    def mean_f1(self) -> float | None:
        """Mean F1 over the paper's 13 columns; None unless all 13 were run."""
        vals = [c.metrics.f1 for c in self.columns if c.column.in_mean]
        return sum(vals) / len(vals) if len(vals) == sum(1 for c in PAPER_COLUMNS if c.in_mean) else None

    def column(self, key: str) -> ColumnResult | None:
        return next((c for c in self.columns if c.column.key == key), None)

    def metrics_dict(self) -> dict[str, float]:
        """Flat ``{column_metric: value}`` (sentence-transformers style names)."""
        out: dict[str, float] = {}
        for c in self.columns:
            for name, value in c.metrics.to_dict().items():
                if value is not None:
                    out[f"{c.column.key}_{name}"] = float(value)
        if self.mean_f1 is not None:
            out["mean_f1"] = self.mean_f1
        return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class SuiteEvaluator:
    """Runs a suite against any classifier (sentence-transformers-like evaluator).

    Settings are stored at construction and never changed by a call.

    Example:
        >>> ev = SuiteEvaluator("paper", data_dir="tests/fixtures/eval", limit=5)  # doctest: +SKIP
        >>> ev(get_backend("fake"))["mean_f1"]  # doctest: +SKIP
    """

    primary_metric = "mean_f1"

    def __init__(
        self,
        suite: str | None = "paper",
        *,
        labelled: Sequence[str | Path] = (),
        prompt_column: str = "prompt",
        response_column: str = "response",
        data_dir: str | Path | None = None,
        cache_dir: str | Path | None = None,
        limit: int | None = None,
        sample: int | None = None,
        seed: int = 0,
        progress: bool | None = False,
    ) -> None:
        if suite is None and not labelled:
            raise ConfigError("nothing to evaluate: give a suite or at least one labelled file")
        self.suite = suite if suite is not None else "labelled"
        self._labelled = _labelled_columns(labelled, prompt_column, response_column)
        self.columns = _suite_columns(suite) + tuple(self._labelled)
        self.data_dir = data_dir
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        if limit is not None and limit < 1:
            raise ConfigError(f"limit must be a positive number of items, got {limit}")
        if sample is not None and sample < 1:
            raise ConfigError(f"sample must be a positive number of items, got {sample}")
        if sample is not None and limit is not None:
            raise ConfigError("give either limit (first N items) or sample (N random items), not both")
        self.limit = limit
        self.sample = sample
        self.seed = seed
        self.progress = progress

    def __call__(self, classifier: Classifier) -> dict[str, float]:
        return self.run(classifier).metrics_dict()

    def load(self) -> dict[str, EvalDataset]:
        """One dataset per column (split, then cut to ``limit``), by column key; plus the
        category sets (``openai_mod_categories``) for the paper suite."""
        names = {c.dataset for c in self.columns if c.group != "labelled"}
        if self.suite in ("paper", "all"):
            names.add("openai_mod_categories")
        root = resolve_data_dir(self.data_dir) if names else None
        full = {n: LOADERS[n](root) for n in sorted(names)} if root is not None else {}
        out: dict[str, EvalDataset] = {}
        for col in self.columns:
            ds = self._labelled[col] if col.group == "labelled" else full[col.dataset]
            if col.split is not None:
                want = col.split == "adversarial"
                ds = ds.select([i for i, a in enumerate(ds.extras["adversarial"]) if bool(a) == want], col.key)
            out[col.key] = self._cut(ds)
        if "openai_mod_categories" in full:
            out["openai_mod_categories"] = self._cut(full["openai_mod_categories"])
        return out

    def _cut(self, ds: EvalDataset) -> EvalDataset:
        return ds.sample(self.sample, self.seed) if self.sample is not None else ds.head(self.limit)

    def run(self, classifier: Classifier) -> SuiteResult:
        t0 = time.perf_counter()
        datasets = self.load()
        convs = [conv for ds in datasets.values() for conv in ds.items]
        run = predict(classifier, convs, cache_dir=self.cache_dir, progress=self.progress,
                      description=f"{self.suite} / {classifier.name}")
        results = tuple(self._score(col, datasets[col.key], run) for col in self.columns)
        categories = self._categories(datasets, run)
        files = sorted({p for ds in datasets.values() for p in ds.files})
        root = resolve_data_dir(self.data_dir) if any(c.group != "labelled" for c in self.columns) else None
        data = {str(p.relative_to(root)) if root is not None and p.is_relative_to(root) else str(p): _sha256(p)
                for p in files}
        return SuiteResult(
            suite=self.suite, backend=classifier.name, params=dict(classifier.params), columns=results,
            categories=categories, data=data, limit=self.limit, sample=self.sample, seed=self.seed, prediction=run,
            seconds=time.perf_counter() - t0,
        )

    @staticmethod
    def _predictions(ds: EvalDataset, run: PredictionRun) -> tuple[list[bool | None], list[float | None]]:
        preds: list[bool | None] = []
        scores: list[float | None] = []
        for conv in ds.items:
            tv = run.get(conv).task(ds.task)
            preds.append(None if tv is None else tv.label)
            scores.append(None if tv is None else tv.score)
        return preds, scores

    def _score(self, col: Column, ds: EvalDataset, run: PredictionRun) -> ColumnResult:
        preds, scores = self._predictions(ds, run)
        if not ds.items:
            raise ConfigError(f"column {col.title!r} has no items (limit {self.limit})")
        m = binary_metrics(ds.labels, preds, scores)
        return ColumnResult(col, m, ds.labels, tuple(preds), tuple(scores))

    def _categories(self, datasets: dict[str, EvalDataset], run: PredictionRun) -> tuple[CategoryResult, ...]:
        out: list[CategoryResult] = []
        wgt = datasets.get("wgt_prompt")
        if wgt is not None:
            preds, _ = self._predictions(wgt, run)
            subs = sorted({s for s, g in zip(wgt.extras["subcategory"], wgt.labels, strict=True) if g})
            for sub in subs:
                idx = [i for i, (s, g) in enumerate(zip(wgt.extras["subcategory"], wgt.labels, strict=True)) if g and s == sub]
                gold = _hub_codes([sub], "wildguard")
                out.append(_category("WildGuardTest", sub or "(none)", [preds[i] for i in idx],
                                     [_top_category(run.get(wgt.items[i])) for i in idx], [gold] * len(idx)))
        oai = datasets.get("openai_mod_categories")
        if oai is not None:
            preds, _ = self._predictions(oai, run)
            for code in OPENAI_CATEGORIES:
                idx = [i for i, cats in enumerate(oai.extras["categories"]) if code in cats]
                if idx:
                    golds = [_hub_codes([OPENAI_CODE_NAMES[c] for c in oai.extras["categories"][i]], "openai") for i in idx]
                    out.append(_category("OpenAI Mod", code, [preds[i] for i in idx],
                                         [_top_category(run.get(oai.items[i])) for i in idx], golds))
        return tuple(out)


_TASK_GROUP: dict[Task, str] = {Task.PROMPT_HARMFUL: "prompt harm", Task.RESPONSE_REFUSAL: "refusal",
                                Task.RESPONSE_HARMFUL: "response harm"}


def _labelled_columns(paths: Sequence[str | Path], prompt_column: str = "prompt",
                      response_column: str = "response") -> dict[Column, EvalDataset]:
    """One column per (file, task it labels), read now so that a bad file fails before any model loads."""
    out: dict[Column, EvalDataset] = {}
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if path.resolve() in seen:
            raise ConfigError(f"labelled file {path} is given twice")
        seen.add(path.resolve())
        stem = path.stem
        taken = {c.key for c in out}
        n = 2
        while any(k.startswith(f"{stem}_") for k in taken):  # two files named alike: mine.jsonl, other/mine.csv
            stem, n = f"{path.stem}{n}", n + 1
        name = path.name if stem == path.stem else f"{path.name} ({path.parent})"  # titles key report.json too
        for task, ds in load_labelled(path, prompt_column=prompt_column, response_column=response_column).items():
            col = Column(f"{stem}_{task.value}", f"{name} · {_TASK_GROUP[task]}", f"file:{path}", "labelled", task=task)
            out[col] = ds.select(range(len(ds)), col.key)
    return out


def _hub_codes(names: Sequence[str], taxonomy: str) -> frozenset[str]:
    """The Llama Guard 3 codes that gold categories ``names`` of ``taxonomy`` map to (unknown names: none)."""
    from ..taxonomy import TAXONOMIES, convert

    return frozenset(c for n in names if n in TAXONOMIES[taxonomy] for c in convert(n, taxonomy, "llamaguard3"))


def _top_category(verdict: Verdict) -> str | None:
    """The verdict's highest-scoring category as a Llama Guard 3 code (None when it names none)."""
    cats = verdict.categories_in("llamaguard3")
    if not cats:
        return None
    return max(cats.items(), key=lambda kv: -1.0 if kv[1] is None else kv[1])[0]


def _category(source: str, name: str, preds: Sequence[bool | None], tops: Sequence[str | None],
              golds: Sequence[frozenset[str]]) -> CategoryResult:
    typed = hit = 0
    for p, top, gold in zip(preds, tops, golds, strict=True):
        if p and top is not None and gold:
            typed += 1
            hit += top in gold
    return CategoryResult(source, name, len(preds), sum(1 for p in preds if p), sum(1 for p in preds if p is None),
                          typed, hit)
