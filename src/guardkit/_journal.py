"""An append-only JSONL journal that survives ``kill -9``.

Every long-running job (batch classify, eval predictions, red-team runs) records finished
work here, one JSON object per line, flushed and fsynced after each batch. On reopen, a torn
last line (the process died mid-write) is cut off, so a resumed run neither loses a record
that was fully written nor duplicates one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ._exceptions import DatasetError

__all__ = ["Journal"]


class Journal:
    """Append-only JSONL records keyed by ``key_field``.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "j.jsonl"
        >>> with Journal(p) as j:
        ...     j.extend([{"key": "a", "v": 1}])
        >>> Journal(p).get("a")
        {'key': 'a', 'v': 1}
    """

    def __init__(self, path: str | os.PathLike[str], key_field: str = "key") -> None:
        self.path = Path(path)
        self.key_field = key_field
        self._records: dict[Any, dict[str, Any]] = {}
        self._order: list[Any] = []
        self._fh: Any = None
        self._recover()

    def _recover(self) -> None:
        if not self.path.exists():
            return
        good = 0
        with self.path.open("rb") as fh:
            for raw in fh:
                if not raw.endswith(b"\n"):
                    break  # torn final line: written partially before a crash
                try:
                    rec = json.loads(raw)
                except json.JSONDecodeError:
                    break
                if not isinstance(rec, dict) or self.key_field not in rec:
                    raise DatasetError(
                        f"{self.path}: not a guardkit journal (line without {self.key_field!r})"
                    )
                self._put(rec)
                good += len(raw)
        if good != self.path.stat().st_size:
            with self.path.open("r+b") as fh:
                fh.truncate(good)

    def _put(self, rec: dict[str, Any]) -> None:
        key = rec[self.key_field]
        if key not in self._records:
            self._order.append(key)
        self._records[key] = rec

    def __contains__(self, key: object) -> bool:
        return key in self._records

    def __len__(self) -> int:
        return len(self._records)

    def get(self, key: Any) -> dict[str, Any] | None:
        return self._records.get(key)

    def records(self) -> Iterator[dict[str, Any]]:
        """Records in first-written order (a later write of a key replaces its content)."""
        return (self._records[k] for k in self._order)

    def extend(self, records: Iterable[dict[str, Any]]) -> None:
        """Append records and make them durable (flush + fsync) before returning."""
        recs = list(records)
        if not recs:
            return
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("a", encoding="utf-8")
        for rec in recs:
            if self.key_field not in rec:
                raise ValueError(f"journal record needs {self.key_field!r}: {rec!r}")
            self._fh.write(json.dumps(rec, ensure_ascii=False, default=_json_default) + "\n")
            self._put(rec)
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _json_default(obj: Any) -> Any:
    """Numpy scalars and arrays, dates and other objects from input files."""
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    return str(obj)
