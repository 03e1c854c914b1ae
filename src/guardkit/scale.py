"""Classify a large dataset with Ray Data: one classifier per actor, built once, batches streamed.

Needs ``pip install 'guardkit[ray]'``; ``ray`` is imported only by :func:`classify_dataset`.

Example:
    >>> import ray  # doctest: +SKIP
    >>> ds = ray.data.read_parquet("s3://bucket/chats/")  # doctest: +SKIP
    >>> out = classify_dataset(ds, "vllm:allenai/wildguard", {"revision": "<commit>"},
    ...                        concurrency=4, num_gpus=1)  # doctest: +SKIP
    >>> out.write_parquet("s3://bucket/verdicts/")  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ._exceptions import ConfigError, InputError
from ._optional import require

__all__ = ["OUTPUT_COLUMNS", "VerdictColumns", "classify_dataset"]

logger = logging.getLogger(__name__)

#: Columns added to every row (as :meth:`guardkit.Verdict.to_row` names them).
OUTPUT_COLUMNS = (
    "prompt_harmful",
    "prompt_harmful_score",
    "response_refusal",
    "response_refusal_score",
    "response_harmful",
    "response_harmful_score",
    "categories",
    "is_parsing_error",
)


class VerdictColumns:
    """A Ray Data actor: builds the classifier once, then adds verdict columns to each batch.

    Plain Python (usable without Ray): called with a pandas DataFrame, returns it with the
    :data:`OUTPUT_COLUMNS` added.

    Example:
        >>> import pandas as pd
        >>> actor = VerdictColumns("fake")
        >>> actor(pd.DataFrame({"prompt": ["how to make a bomb"]}))["prompt_harmful"].tolist()
        [True]
    """

    def __init__(
        self,
        backend: str,
        options: Mapping[str, str] | None = None,
        prompt_column: str = "prompt",
        response_column: str | None = "response",
    ) -> None:
        from .backends import get_backend

        self.classifier = get_backend(backend, options or {})
        self.classifier.load()
        self.prompt_column = prompt_column
        self.response_column = response_column

    def __call__(self, batch: Any) -> Any:
        if self.prompt_column not in batch.columns:
            raise InputError(f"the dataset has no {self.prompt_column!r} column; got {list(batch.columns)}")
        prompts = batch[self.prompt_column].tolist()
        has_response = self.response_column is not None and self.response_column in batch.columns
        responses = batch[self.response_column].tolist() if has_response else [None] * len(prompts)
        items = [
            {"prompt": p, "response": r if isinstance(r, str) else None}
            for p, r in zip(prompts, responses, strict=True)
        ]
        rows = [v.to_row() for v in self.classifier.classify(items)]
        out = batch.copy()
        for column in OUTPUT_COLUMNS:
            out[column] = [row[column] for row in rows]
        return out


def classify_dataset(
    dataset: Any,
    backend: str,
    options: Mapping[str, str] | None = None,
    *,
    prompt_column: str = "prompt",
    response_column: str | None = "response",
    batch_size: int = 64,
    concurrency: int = 1,
    num_gpus: float | None = None,
    num_cpus: float | None = None,
) -> Any:
    """Add verdict columns to a ``ray.data.Dataset`` (lazily; write or iterate to run).

    Args:
        dataset: A Ray dataset with a prompt column (and optionally a response column).
        backend: A backend spec, as on the command line (``vllm:allenai/wildguard``).
        options: Backend ``key=value`` options.
        prompt_column: Column holding the user prompt.
        response_column: Column holding the assistant response (None: prompt-only).
        batch_size: Rows per batch handed to one actor.
        concurrency: Number of actors, each with its own classifier.
        num_gpus: GPUs per actor (e.g. 1 for ``vllm``).
        num_cpus: CPUs per actor.

    Raises:
        MissingDependency: ``ray`` is not installed (``pip install 'guardkit[ray]'``).
    """
    require("ray", "ray")
    require("ray.data", "ray")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
    if not isinstance(concurrency, int) or concurrency < 1:
        raise ConfigError(f"concurrency must be a positive integer, got {concurrency!r}")
    resources: dict[str, Any] = {}
    if num_gpus is not None:
        resources["num_gpus"] = num_gpus
    if num_cpus is not None:
        resources["num_cpus"] = num_cpus
    logger.info("classifying a Ray dataset with %s on %d actor(s)", backend, concurrency)
    return dataset.map_batches(
        VerdictColumns,
        fn_constructor_kwargs={
            "backend": backend,
            "options": dict(options or {}),
            "prompt_column": prompt_column,
            "response_column": response_column,
        },
        batch_size=batch_size,
        batch_format="pandas",
        concurrency=concurrency,
        **resources,
    )
