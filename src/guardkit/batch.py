"""Classify a JSONL / CSV / Parquet file, resumably.

Finished rows go to a hidden journal next to the output (``.NAME.guardkit.jsonl``), fsynced
after every batch. Running the same command again skips rows already in the journal, so a
``kill -9`` loses no finished row and duplicates none. When every row is done the output is
written in the format of its extension (atomically) and the journal is removed.

Rows that cannot be used (broken JSON line, missing or empty prompt) are reported with file,
row and column, written to ``NAME.errors.jsonl``, and skipped; valid rows still land.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._exceptions import ConfigError, DatasetError, InputError
from ._journal import Journal
from ._types import Conversation, Task
from .backends.base import Classifier
from .io import RowError, columns_of, count_rows, detect_format, read_rows, write_rows

__all__ = ["BatchResult", "OUTPUT_COLUMNS", "classify_file", "journal_path"]

logger = logging.getLogger(__name__)

#: Columns added to every output row.
OUTPUT_COLUMNS: tuple[str, ...] = tuple(c for t in Task for c in (t.value, f"{t.value}_score")) + (
    "categories",
    "is_parsing_error",
)

_META = "__meta__"


@dataclass(frozen=True)
class BatchResult:
    """What a :func:`classify_file` run did."""

    output: Path
    rows_written: int
    resumed_rows: int
    errors: tuple[RowError, ...] = field(default=())
    errors_file: Path | None = None


def journal_path(output: Path) -> Path:
    return output.with_name(f".{output.name}.guardkit.jsonl")


def errors_path(output: Path) -> Path:
    return output.with_name(f"{output.name}.errors.jsonl")


def _fingerprint(
    input_path: Path, prompt_column: str, response_column: str | None, backend: dict[str, Any]
) -> dict[str, Any]:
    st = input_path.stat()
    return {
        "input": str(input_path.resolve()),
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "prompt_column": prompt_column,
        "response_column": response_column,
        "backend": json.loads(json.dumps(backend, default=str)),
    }


def _to_conversation(
    path: Path, n: int, row: dict[str, Any], prompt_column: str, response_column: str | None
) -> Conversation | RowError:
    if prompt_column not in row:
        return RowError(n, f"{path}: row {n}: missing column {prompt_column!r}", prompt_column)
    prompt = row[prompt_column]
    if not isinstance(prompt, str):
        return RowError(
            n,
            f"{path}: row {n}: column {prompt_column!r} must be text, got {type(prompt).__name__}",
            prompt_column,
        )
    if not prompt.strip():
        return RowError(n, f"{path}: row {n}: column {prompt_column!r} is empty", prompt_column)
    response = row.get(response_column) if response_column else None
    if response is not None and not isinstance(response, str):
        return RowError(
            n,
            f"{path}: row {n}: column {response_column!r} must be text, got {type(response).__name__}",
            response_column,
        )
    if isinstance(response, str) and not response.strip():
        response = None  # empty cell = prompt-only (CSV cannot tell empty from missing)
    try:
        return Conversation.from_pair(prompt, response)
    except InputError as exc:
        return RowError(n, f"{path}: row {n}: {exc}", prompt_column)


def classify_file(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    classifier: Classifier,
    *,
    prompt_column: str = "prompt",
    response_column: str | None = "response",
    batch_size: int | None = None,
    overwrite: bool = False,
    on_progress: Callable[[int, int | None], None] | None = None,
) -> BatchResult:
    """Classify every row of ``input_path`` into ``output_path`` (resumable).

    Args:
        input_path: ``.jsonl``, ``.csv`` or ``.parquet`` file.
        output_path: where to write; its extension picks the format.
        classifier: any backend.
        prompt_column: column holding the user prompt.
        response_column: column holding the assistant response; rows without one (missing,
            null or empty) are judged prompt-only. ``None`` ignores responses.
        batch_size: items per model call (default: the classifier's).
        overwrite: start over even if a finished output or an unfinished run exists.
        on_progress: called with (rows done, total rows or None) as rows finish.

    Raises:
        DatasetError: the input cannot be read, or the prompt column (or a response column named
            other than "response") does not exist.
        ConfigError: the output exists already (without ``overwrite``), or an unfinished run
            for another input/backend is in the way.
        BackendError: the backend failed; finished rows are kept, rerun to resume.
    """
    inp, out = Path(input_path), Path(output_path)
    detect_format(inp)
    detect_format(out)
    if inp.resolve() == out.resolve():
        raise ConfigError(f"{out}: output must differ from the input file")
    for side in (errors_path(out), journal_path(out)):
        if inp.resolve() == side.resolve():
            raise ConfigError(f"{out}: this output would write its side file {side} over the input; choose another output")
    _check_output(out)
    header = columns_of(inp)  # also checks the file exists and is readable
    if header is not None and prompt_column not in header:
        raise DatasetError(f"{inp}: no column {prompt_column!r}; columns are {header}")
    if header is not None and response_column is not None and response_column not in header:
        if response_column != "response":  # asked for by name: must exist
            raise DatasetError(f"{inp}: no column {response_column!r}; columns are {header}")
        response_column = None
    if header is None and response_column not in (None, "response") and not any(
        isinstance(row, dict) and response_column in row for _, row in read_rows(inp)
    ):  # JSONL has no header: asked for by name, the column must be in some row (stops at the first)
        raise DatasetError(f"{inp}: no row has a column {response_column!r}")

    jpath = journal_path(out)
    if overwrite:
        jpath.unlink(missing_ok=True)
    elif out.exists() and not jpath.exists():
        raise ConfigError(f"{out} already exists; pass --overwrite to classify again")
    fingerprint = _fingerprint(inp, prompt_column, response_column, classifier.params)

    journal = Journal(jpath)
    try:
        meta = journal.get(_META)
        if meta is None:
            journal.extend([{"key": _META, **fingerprint}])
        elif {k: v for k, v in meta.items() if k != "key"} != fingerprint:
            raise ConfigError(
                f"{out}: an unfinished run with another input, columns or backend is in the way "
                f"({jpath}); pass --overwrite to start over"
            )
        resumed = sum(1 for r in journal.records() if r["key"] != _META)
        total = count_rows(inp)
        done = resumed
        if on_progress:
            on_progress(done, total)

        size = batch_size or classifier.batch_size
        pending: list[tuple[int, dict[str, Any], Conversation]] = []
        warned: set[str] = set()
        error_records: list[dict[str, Any]] = []

        def flush() -> None:
            nonlocal done
            records = list(error_records)
            if pending:
                verdicts = classifier.classify([c for _, _, c in pending], batch_size=size)
                for (n, row, _), v in zip(pending, verdicts, strict=True):
                    records.append({"key": n, "row": {**_keep_input(row, warned), **v.to_row()}})
            journal.extend(records)
            done += len(records)
            pending.clear()
            error_records.clear()
            if on_progress:
                on_progress(done, total)

        for n, row in read_rows(inp):
            if n in journal:
                continue
            item = (
                row
                if isinstance(row, RowError)
                else _to_conversation(inp, n, row, prompt_column, response_column)
            )
            if isinstance(item, RowError):
                logger.warning("%s", item.message)
                error_records.append({"key": n, "error": item.message, "column": item.column})
            else:
                assert isinstance(row, dict)
                pending.append((n, row, item))
            if len(pending) >= size or len(error_records) >= size:
                flush()
        flush()

        rows: list[dict[str, Any]] = []
        errors: list[RowError] = []
        for rec in sorted((r for r in journal.records() if r["key"] != _META), key=lambda r: r["key"]):
            if "error" in rec:
                errors.append(RowError(rec["key"], rec["error"], rec.get("column")))
            else:
                rows.append(rec["row"])
        input_cols = [_input_name(c, header) for c in header] if header is not None else _union(rows, exclude=OUTPUT_COLUMNS)
        columns = input_cols + list(OUTPUT_COLUMNS)
        written = write_rows(out, rows, columns)
        err_file = None
        if errors:
            err_file = errors_path(out)
            write_rows(err_file, [{"row": e.row, "column": e.column, "error": e.message} for e in errors])
        elif errors_path(out).exists():
            errors_path(out).unlink()
    finally:
        journal.close()
    jpath.unlink(missing_ok=True)
    return BatchResult(out, written, resumed, tuple(errors), err_file)


def _check_output(out: Path) -> None:
    """Fail before any work when ``out`` cannot be written (a folder, or a folder we cannot create or write in)."""
    if out.is_dir():
        raise ConfigError(f"{out}: is a directory; give an output file path")
    folder = out.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{out}: cannot create the output folder {folder}: {exc.strerror or exc}") from exc
    probe = folder / f".{out.name}.guardkit-probe"
    try:  # a real write: permission bits say nothing on read-only mounts, /proc, or as root
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"{out}: cannot write in the output folder {folder}: {exc.strerror or exc}") from exc


def _input_name(column: str, columns: Collection[str]) -> str:
    """An input column's name in the output: ``input.NAME`` when guardkit's own output uses NAME
    (``input.input.NAME`` when the input ``columns`` hold ``input.NAME`` too: a previous run's output)."""
    if column not in OUTPUT_COLUMNS:
        return column
    name = f"input.{column}"
    while name in columns:
        name = f"input.{name}"
    return name


def _keep_input(row: dict[str, Any], warned: set[str]) -> dict[str, Any]:
    """The input row, with columns that guardkit's output would overwrite kept as ``input.NAME``
    (each such column is named in a warning once per run: ``warned`` holds those named so far)."""
    clash = [k for k in row if k in OUTPUT_COLUMNS]
    if not clash:
        return row
    for k in clash:
        if k not in warned:
            warned.add(k)
            logger.warning("input column %r is also an output column: the input's values are kept as %r", k, _input_name(k, row))
    return {_input_name(k, row): v for k, v in row.items()}


def _union(rows: list[dict[str, Any]], exclude: tuple[str, ...]) -> list[str]:
    cols: dict[str, None] = {}
    for r in rows:
        for k in r:
            if k not in exclude:
                cols.setdefault(k, None)
    return list(cols)
