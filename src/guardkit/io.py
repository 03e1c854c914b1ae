"""Read and write tabular files: JSONL, CSV and Parquet, chosen by extension.

Reading yields ``(row_number, row)`` pairs; a row that cannot be read (broken JSON line) is
yielded as a :class:`RowError` so callers can report it and go on with the valid rows.
Row numbers are 1-based data rows (the CSV header is not counted).
"""

from __future__ import annotations

import csv
import json
import logging
import os
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ._exceptions import DatasetError

__all__ = ["FORMATS", "RowError", "detect_format", "read_rows", "write_rows"]

logger = logging.getLogger(__name__)

Format = Literal["jsonl", "csv", "parquet"]
FORMATS: dict[str, Format] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}


@dataclass(frozen=True)
class RowError:
    """A row that could not be used; ``message`` names the file, row and column."""

    row: int
    message: str
    column: str | None = None


def detect_format(path: str | os.PathLike[str]) -> Format:
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise DatasetError(
            f"{path}: unknown file type {suffix or '(none)'!r}; expected .jsonl, .csv or .parquet"
        )
    return FORMATS[suffix]


def _open_check(path: Path) -> None:
    if not path.exists():
        raise DatasetError(f"{path}: no such file")
    if path.is_dir():
        raise DatasetError(f"{path}: is a directory, expected a file")
    if not os.access(path, os.R_OK):
        raise DatasetError(f"{path}: not readable (permission denied)")


def _check_header(p: Path, header: list[str]) -> list[str]:
    """A CSV header whose names are unique (two columns of one name would lose one of them)."""
    dup = sorted(name for name, k in Counter(header).items() if k > 1)
    if dup:
        raise DatasetError(f"{p}: the CSV header repeats column name(s) {dup}; every column needs its own name")
    return header


def _not_utf8(p: Path, reason: str) -> DatasetError:
    return DatasetError(f"{p}: not UTF-8 text ({reason}); save the file as UTF-8")


#: What ``errors="surrogateescape"`` turns bytes that are not UTF-8 into.
_ESCAPED = re.compile("[\udc80-\udcff]")


def _utf8_problem(text: str) -> str | None:
    """Why ``text`` (decoded with ``errors="surrogateescape"``) was not UTF-8; None when it was."""
    if not _ESCAPED.search(text):
        return None
    try:
        text.encode("utf-8", "surrogateescape").decode("utf-8")
    except UnicodeDecodeError as exc:
        return str(exc.reason)
    except UnicodeError:
        pass
    return "bytes that do not decode"


def _csv_header(p: Path, reader: Iterator[list[str]]) -> list[str]:
    """The first record of a CSV ``reader`` (opened with ``errors="surrogateescape"``), checked."""
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise DatasetError(f"{p}: cannot read CSV header: {exc}") from exc
    if header is None:
        raise DatasetError(f"{p}: empty CSV file (no header row)")
    for name in header:
        reason = _utf8_problem(name)
        if reason is not None:
            raise _not_utf8(p, reason)
    return _check_header(p, header)


def columns_of(path: str | os.PathLike[str]) -> list[str] | None:
    """Column names known before reading rows (CSV header, Parquet schema); None for JSONL."""
    p = Path(path)
    fmt = detect_format(p)
    _open_check(p)
    if fmt == "csv":
        with p.open(newline="", encoding="utf-8-sig", errors="surrogateescape") as fh:
            return _csv_header(p, csv.reader(fh))
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            return list(pq.ParquetFile(p).schema_arrow.names)
        except Exception as exc:  # pyarrow raises several types for corrupt files
            raise DatasetError(f"{p}: not a readable Parquet file: {exc}") from exc
    return None


def read_rows(
    path: str | os.PathLike[str], *, skip: int = 0
) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    """Yield ``(row_number, row_or_error)`` for each data row after the first ``skip`` rows."""
    p = Path(path)
    fmt = detect_format(p)
    _open_check(p)
    if fmt == "jsonl":
        yield from _read_jsonl(p, skip)
    elif fmt == "csv":
        yield from _read_csv(p, skip)
    else:
        yield from _read_parquet(p, skip)


def count_rows(path: str | os.PathLike[str]) -> int | None:
    """Number of data rows (cheap for Parquet and line files); None if unknown."""
    p = Path(path)
    fmt = detect_format(p)
    _open_check(p)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            return int(pq.ParquetFile(p).metadata.num_rows)
        except Exception:
            return None
    if fmt == "jsonl":
        with p.open("rb") as fh:
            return sum(1 for line in fh if line.strip())
    return None  # CSV records may span lines; counting means parsing


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook``: a JSON object naming a key twice would keep only the last value."""
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise _DuplicateKey(key)
        obj[key] = value
    return obj


def _read_jsonl(p: Path, skip: int) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    n = 0
    with p.open("rb") as fh:
        for raw in fh:
            if not raw.strip():
                continue
            n += 1
            if n <= skip:
                continue
            try:
                obj = json.loads(raw.decode("utf-8-sig" if n == 1 else "utf-8"),  # a BOM may open the file
                                 object_pairs_hook=_unique_keys)
            except _DuplicateKey as exc:
                yield n, RowError(n, f"{p}: row {n}: key {exc.key!r} appears more than once in one JSON object")
                continue
            except UnicodeDecodeError as exc:
                yield n, RowError(n, f"{p}: row {n}: invalid UTF-8 ({exc.reason})")
                continue
            except json.JSONDecodeError as exc:
                yield n, RowError(n, f"{p}: row {n}: broken JSON line ({exc.msg} at column {exc.colno})")
                continue
            except RecursionError:
                yield n, RowError(n, f"{p}: row {n}: JSON line nested too deeply to read")
                continue
            if not isinstance(obj, dict):
                yield n, RowError(n, f"{p}: row {n}: expected a JSON object, got {type(obj).__name__}")
                continue
            yield n, obj


def _read_csv(p: Path, skip: int) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    # bytes that are not UTF-8 become lone surrogates: a bad data row is reported, not the whole file
    with p.open(newline="", encoding="utf-8-sig", errors="surrogateescape") as fh:
        reader = csv.reader(fh)
        header = _csv_header(p, reader)
        n = 0
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                n += 1
                if n > skip:
                    yield n, RowError(n, f"{p}: row {n}: malformed CSV ({exc})")
                continue
            if not values:
                continue
            n += 1
            if n <= skip:
                continue
            bad = next(((i, r) for i, v in enumerate(values) if (r := _utf8_problem(v)) is not None), None)
            if bad is not None:
                i, reason = bad
                column = header[i] if i < len(header) else None
                where = f", column {column!r}" if column is not None else ""
                yield n, RowError(n, f"{p}: row {n}: not UTF-8 text ({reason}{where})", column)
                continue
            if len(values) != len(header):
                yield n, RowError(n, f"{p}: row {n}: has {len(values)} fields, header has {len(header)}")
                continue
            yield n, dict(zip(header, values, strict=True))


def _read_parquet(p: Path, skip: int) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(p)
    except Exception as exc:
        raise DatasetError(f"{p}: not a readable Parquet file: {exc}") from exc
    n = 0
    for batch in pf.iter_batches(batch_size=1024):
        rows = batch.to_pylist()
        for row in rows:
            n += 1
            if n > skip:
                yield n, row


def write_rows(
    path: str | os.PathLike[str], rows: Iterable[dict[str, Any]], columns: Sequence[str] | None = None
) -> int:
    """Write rows to ``path`` in the format of its extension, atomically (tmp file + rename).

    List values are written as JSON arrays in JSONL/Parquet and ``;``-joined in CSV. A Parquet
    column needs one type: a column whose values mix types (a number in one row, text in
    another) is written as text (JSON for non-text values), with a warning. Returns the number
    of rows written; a file that cannot be written raises :class:`DatasetError`.
    """
    p = Path(path)
    fmt = detect_format(p)
    if p.is_dir():
        raise DatasetError(f"{p}: is a directory; give an output file path")
    tmp = p.with_name(f".{p.name}.tmp")
    rows = list(rows)
    cols = list(columns) if columns else _union_columns(rows)
    n = 0
    try:
        if fmt == "jsonl":
            with tmp.open("w", encoding="utf-8") as fh:
                for row in rows:
                    fh.write(json.dumps({c: row.get(c) for c in cols}, ensure_ascii=False, default=str) + "\n")
                    n += 1
        elif fmt == "csv":
            with tmp.open("w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh)
                w.writerow(cols)
                for row in rows:
                    w.writerow([_csv_cell(row.get(c)) for c in cols])
                    n += 1
        else:
            import pyarrow.parquet as pq

            pq.write_table(_arrow_table(p, rows, cols), tmp)
            n = len(rows)
        os.replace(tmp, p)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise DatasetError(f"{p}: cannot write: {exc.strerror or exc}") from exc
    return n


def _arrow_table(p: Path, rows: list[dict[str, Any]], cols: list[str]) -> Any:
    import pyarrow as pa

    if not rows:
        return pa.table({c: pa.array([], pa.string()) for c in cols})
    data = {c: [row.get(c) for row in rows] for c in cols}
    try:
        return pa.Table.from_pydict(data)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    for c, values in data.items():
        try:
            pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            logger.warning("%s: column %r mixes value types; written as text", p, c)
            data[c] = [v if v is None or isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)
                       for v in values]
    return pa.Table.from_pydict(data)


def _union_columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    cols: dict[str, None] = {}
    for r in rows:
        for k in r:
            cols.setdefault(k, None)
    return list(cols)


def _csv_cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, (list, tuple)):
        return ";".join(str(x) for x in v)
    if isinstance(v, dict):
        return json.dumps(v, ensure_ascii=False)
    return v
