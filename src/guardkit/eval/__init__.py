"""Evaluation harness: the WildGuard paper's table (and more suites) for any backend.

Example:
    >>> from guardkit.eval import SuiteEvaluator, SUITES
    >>> SUITES
    ('paper', 'korean', 'overrefusal', 'all')

The modules: :mod:`~guardkit.eval.datasets` (one loader per benchmark),
:mod:`~guardkit.eval.metrics` (scikit-learn metrics), :mod:`~guardkit.eval.runner`
(predictions with a resumable cache), :mod:`~guardkit.eval.suites` (columns and the
evaluator) and :mod:`~guardkit.eval.report` (Markdown / JSON / CSV / plots).
"""

from __future__ import annotations

from .datasets import LOADERS, EvalDataset, load_dataset, resolve_data_dir
from .metrics import BinaryMetrics, binary_metrics, expected_calibration_error
from .runner import PredictionRun, predict
from .suites import COLUMNS, SUITES, Column, ColumnResult, SuiteEvaluator, SuiteResult

__all__ = [
    "COLUMNS",
    "LOADERS",
    "SUITES",
    "BinaryMetrics",
    "Column",
    "ColumnResult",
    "EvalDataset",
    "PredictionRun",
    "SuiteEvaluator",
    "SuiteResult",
    "binary_metrics",
    "expected_calibration_error",
    "load_dataset",
    "predict",
    "resolve_data_dir",
]
