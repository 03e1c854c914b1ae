"""Predict with a prediction cache: a kill-safe journal per backend configuration.

Every verdict is stored under ``CACHE_DIR/<backend>-<params hash>.jsonl`` keyed by a hash of
the conversation, flushed after each batch. Re-rendering a report costs no model call, and an
interrupted run resumes where it stopped. Identical conversations (shared across benchmarks,
e.g. OpenAI Mod and its category file) are classified once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._journal import Journal
from .._progress import progress_tasks
from .._types import Conversation, Verdict
from ..backends.base import Classifier

__all__ = ["PredictionRun", "cache_path", "conversation_key", "params_key", "predict"]

logger = logging.getLogger(__name__)


def conversation_key(conv: Conversation) -> str:
    """A stable hash of a conversation's turns (the per-item cache key)."""
    blob = json.dumps(conv.to_messages(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


def params_key(params: dict[str, Any]) -> str:
    """A stable hash of a classifier's :attr:`~guardkit.Classifier.params`."""
    blob = json.dumps(params, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def cache_path(cache_dir: Path, classifier: Classifier) -> Path:
    """The journal file holding this classifier configuration's predictions."""
    name = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in (classifier.name or "backend"))
    return Path(cache_dir) / f"{name}-{params_key(classifier.params)}.jsonl"


@dataclass(frozen=True)
class PredictionRun:
    """Verdicts for the requested conversations plus what it took to get them."""

    verdicts: dict[str, Verdict]
    n_items: int
    n_cached: int
    n_predicted: int
    seconds: float
    cache_file: Path | None

    def get(self, conv: Conversation) -> Verdict:
        return self.verdicts[conversation_key(conv)]


def predict(
    classifier: Classifier,
    conversations: Iterable[Conversation],
    *,
    cache_dir: Path | None = None,
    progress: bool | None = None,
    description: str = "classifying",
) -> PredictionRun:
    """Classify the conversations not in the cache; return verdicts for all of them.

    Args:
        classifier: any backend; its ``params`` select the cache file.
        conversations: items (duplicates are classified once).
        cache_dir: where the journal lives; None disables caching.
        progress: show a rich progress bar (rate and ETA) on stderr; None = when stderr is a tty.
        description: the progress bar's label.
    """
    t0 = time.perf_counter()
    unique: dict[str, Conversation] = {}
    for conv in conversations:
        unique.setdefault(conversation_key(conv), conv)
    verdicts: dict[str, Verdict] = {}
    journal = None
    path = None
    if cache_dir is not None:
        path = cache_path(cache_dir, classifier)
        journal = Journal(path)
        for key in unique:
            rec = journal.get(key)
            if rec is not None:
                verdicts[key] = Verdict.from_dict(rec["verdict"])
    n_cached = len(verdicts)
    missing: Sequence[str] = [k for k in unique if k not in verdicts]
    logger.info("%d items: %d cached, %d to classify (%s)", len(unique), n_cached, len(missing), path)
    try:
        if missing:
            with progress_tasks(progress) as task:
                advance = task(description, len(missing))

                def on_batch(start: int, batch: list[Verdict]) -> None:
                    keys = missing[start : start + len(batch)]
                    if journal is not None:
                        journal.extend({"key": k, "verdict": v.to_dict()} for k, v in zip(keys, batch, strict=True))
                    verdicts.update(zip(keys, batch, strict=True))
                    advance(len(batch))

                classifier.classify([unique[k] for k in missing], on_batch=on_batch)
    finally:
        if journal is not None:
            journal.close()
    return PredictionRun(
        verdicts=verdicts,
        n_items=len(unique),
        n_cached=n_cached,
        n_predicted=len(missing),
        seconds=time.perf_counter() - t0,
        cache_file=path,
    )
