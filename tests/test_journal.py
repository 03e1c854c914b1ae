from __future__ import annotations

import pytest

from guardkit import DatasetError
from guardkit._journal import Journal


def test_torn_last_line_is_cut_and_appends_continue(tmp_path):
    p = tmp_path / "j.jsonl"
    with Journal(p) as j:
        j.extend([{"key": 1, "v": "a"}, {"key": 2, "v": "b"}])
    with p.open("a") as fh:
        fh.write('{"key": 3, "v": "c')  # a crash mid-write
    j = Journal(p)
    assert len(j) == 2 and 3 not in j
    j.extend([{"key": 3, "v": "c"}])
    j.close()
    assert [r["v"] for r in Journal(p).records()] == ["a", "b", "c"]
    assert p.read_text().count("\n") == 3


def test_rewrite_of_key_replaces_content(tmp_path):
    with Journal(tmp_path / "j.jsonl") as j:
        j.extend([{"key": "a", "v": 1}, {"key": "a", "v": 2}])
    assert Journal(tmp_path / "j.jsonl").get("a") == {"key": "a", "v": 2}


def test_foreign_file_is_refused(tmp_path):
    p = tmp_path / "j.jsonl"
    p.write_text('{"x": 1}\n')
    with pytest.raises(DatasetError, match="not a guardkit journal"):
        Journal(p)
