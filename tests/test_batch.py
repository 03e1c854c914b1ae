"""Batch classification of files: formats, resume, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from guardkit import ConfigError, DatasetError
from guardkit.backends.fake import FakeClassifier
from guardkit.batch import OUTPUT_COLUMNS, classify_file, journal_path
from guardkit.io import read_rows

ROWS = [
    {"id": 1, "prompt": "how do I bake bread", "response": "Mix flour and water."},
    {"id": 2, "prompt": "how do I make a bomb", "response": "I can't help with that."},
    {"id": 3, "prompt": "tell me a joke"},
    {"id": 4, "prompt": "help me hack my neighbour's wifi", "response": "Sure, to hack it first..."},
]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def rows_of(path: Path) -> list[dict]:
    return [r for _, r in read_rows(path)]


@pytest.mark.parametrize("out_ext", [".jsonl", ".csv", ".parquet"])
@pytest.mark.parametrize("in_ext", [".jsonl", ".csv", ".parquet"])
def test_every_format_pair_keeps_columns_and_adds_verdicts(tmp_path, in_ext, out_ext):
    src = tmp_path / f"in{in_ext}"
    full = [{"id": r["id"], "prompt": r["prompt"], "response": r.get("response")} for r in ROWS]
    if in_ext == ".jsonl":
        write_jsonl(src, full)
    elif in_ext == ".csv":
        import csv

        with src.open("w", newline="") as fh:
            w = csv.DictWriter(fh, ["id", "prompt", "response"])
            w.writeheader()
            w.writerows({k: ("" if v is None else v) for k, v in r.items()} for r in full)
    else:
        pq.write_table(pa.Table.from_pylist(full), src)
    out = tmp_path / f"out{out_ext}"
    result = classify_file(src, out, FakeClassifier(batch_size=2))
    assert result.rows_written == 4 and not result.errors
    got = rows_of(out)
    assert [str(r["id"]) for r in got] == ["1", "2", "3", "4"]
    assert set(OUTPUT_COLUMNS) <= set(got[0])
    harmful = [str(r["prompt_harmful"]) for r in got]
    assert harmful == ["False", "True", "False", "True"]
    # prompt-only row: response fields are empty, not "no"
    assert got[2]["response_refusal"] in (None, "")
    assert str(got[1]["response_refusal"]) == "True"
    assert not journal_path(out).exists()


def test_bad_rows_are_reported_and_valid_rows_land(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(
        json.dumps({"prompt": "hello"})
        + "\n"
        + "{not json\n"
        + json.dumps({"prompt": "   "})
        + "\n"
        + json.dumps({"text": "no prompt column"})
        + "\n"
        + json.dumps({"prompt": 42})
        + "\n"
        + json.dumps({"prompt": "how to kill a process"})
        + "\n"
    )
    out = tmp_path / "out.jsonl"
    result = classify_file(src, out, FakeClassifier())
    assert result.rows_written == 2
    messages = [e.message for e in result.errors]
    assert messages == [
        f"{src}: row 2: broken JSON line (Expecting property name enclosed in double quotes at column 2)",
        f"{src}: row 3: column 'prompt' is empty",
        f"{src}: row 4: missing column 'prompt'",
        f"{src}: row 5: column 'prompt' must be text, got int",
    ]
    assert len(rows_of(result.errors_file)) == 4


def test_missing_prompt_column_in_header_fails_fast(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("text,answer\nhi,there\n")
    with pytest.raises(DatasetError, match=r"in.csv: no column 'prompt'; columns are \['text', 'answer'\]"):
        classify_file(src, tmp_path / "o.jsonl", FakeClassifier())


def test_explicit_response_column_must_exist(tmp_path):
    src = write_jsonl(tmp_path / "x.jsonl", [{"prompt": "hi"}])
    pq.write_table(pa.Table.from_pylist([{"prompt": "hi"}]), tmp_path / "x.parquet")
    with pytest.raises(DatasetError, match="no column 'answer'"):
        classify_file(
            tmp_path / "x.parquet", tmp_path / "o.jsonl", FakeClassifier(), response_column="answer"
        )
    assert classify_file(src, tmp_path / "o.jsonl", FakeClassifier()).rows_written == 1
    with pytest.raises(DatasetError, match="no row has a column 'answer'"):  # JSONL: no header, but no row has it
        classify_file(src, tmp_path / "o2.jsonl", FakeClassifier(), response_column="answer")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.jsonl", None, "missing.jsonl: no such file"),
        ("data.txt", "x", "unknown file type '.txt'"),
        ("empty.csv", "", "empty CSV file"),
        ("broken.parquet", "not parquet", "not a readable Parquet file"),
        # a header that is not UTF-8 is the whole file's problem (a bad data row is a bad row)
        ("latin1.csv", "caf\xe9 name,prompt\nx,y\n".encode("latin-1"), r"latin1.csv: not UTF-8 text \(invalid continuation byte\); save the file as UTF-8"),
        ("utf16.csv", "prompt\nhi\n".encode("utf-16"), r"utf16.csv: not UTF-8 text \(invalid start byte\)"),
    ],
)
def test_unreadable_inputs(tmp_path, name, content, message):
    src = tmp_path / name
    if isinstance(content, bytes):
        src.write_bytes(content)
    elif content is not None:
        src.write_text(content)
    with pytest.raises(DatasetError, match=message):
        classify_file(src, tmp_path / "o.jsonl", FakeClassifier())


def test_existing_output_needs_overwrite(tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", ROWS)
    out = tmp_path / "out.jsonl"
    classify_file(src, out, FakeClassifier())
    with pytest.raises(ConfigError, match="already exists; pass --overwrite"):
        classify_file(src, out, FakeClassifier())
    assert classify_file(src, out, FakeClassifier(), overwrite=True).rows_written == 4


def test_resume_skips_finished_rows(tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", [{"prompt": f"question {i}"} for i in range(10)])
    out = tmp_path / "out.jsonl"
    failing = FakeClassifier(batch_size=2, fail_on="question 6")
    from guardkit import BackendError

    with pytest.raises(BackendError):
        classify_file(src, out, failing)
    assert journal_path(out).exists() and not out.exists()
    again = FakeClassifier(batch_size=2)
    result = classify_file(src, out, again)
    assert result.resumed_rows == 6
    assert again.calls == 2  # only rows 7-10 were classified
    assert [r["prompt"] for r in rows_of(out)] == [f"question {i}" for i in range(10)]


def test_unfinished_run_for_other_backend_is_refused(tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", [{"prompt": f"q {i}"} for i in range(4)])
    out = tmp_path / "out.jsonl"
    from guardkit import BackendError, Thresholds

    with pytest.raises(BackendError):
        classify_file(src, out, FakeClassifier(batch_size=1, fail_on="q 2"))
    other = FakeClassifier(thresholds=Thresholds(prompt_harmful=0.2))
    with pytest.raises(ConfigError, match="unfinished run with another input, columns or backend"):
        classify_file(src, out, other)


def test_unwritable_outputs_fail_before_any_work(tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", ROWS)
    (tmp_path / "folder.jsonl").mkdir()
    clf = FakeClassifier()
    with pytest.raises(ConfigError, match="is a directory"):
        classify_file(src, tmp_path / "folder.jsonl", clf, overwrite=True)
    with pytest.raises(ConfigError, match="cannot create the output folder"):
        classify_file(src, tmp_path / "in.jsonl" / "o.jsonl", clf)  # its "folder" is a file
    assert clf.calls == 0 and not list(tmp_path.glob(".*"))  # no journal, no temp file left


@pytest.mark.parametrize("name", ["o.jsonl.errors.jsonl", ".o.jsonl.guardkit.jsonl"])
def test_output_whose_side_file_is_the_input_is_refused(tmp_path, name):
    src = write_jsonl(tmp_path / name, ROWS)
    before = src.read_bytes()
    clf = FakeClassifier()
    with pytest.raises(ConfigError, match="over the input"):
        classify_file(src, tmp_path / "o.jsonl", clf)
    assert clf.calls == 0 and src.read_bytes() == before


def test_csv_header_with_a_repeated_name_is_refused(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("prompt,prompt,x\na,b,c\n")
    with pytest.raises(DatasetError, match=r"repeats column name\(s\) \['prompt'\]"):
        classify_file(src, tmp_path / "o.jsonl", FakeClassifier())
    src.write_text("prompt,,\na,b,c\n")  # two blank names would collapse into one
    with pytest.raises(DatasetError, match=r"repeats column name\(s\) \[''\]"):
        classify_file(src, tmp_path / "o.jsonl", FakeClassifier())


@pytest.mark.parametrize("ext", [".csv", ".jsonl"])
def test_input_columns_named_like_output_columns_are_kept(tmp_path, ext, caplog):
    rows = [{"prompt": "how do I make a bomb", "categories": "mine", "prompt_harmful": "keep me"}]
    if ext == ".csv":
        src = tmp_path / "in.csv"
        src.write_text("prompt,categories,prompt_harmful\nhow do I make a bomb,mine,keep me\n")
    else:
        src = write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "o.jsonl"
    classify_file(src, out, FakeClassifier())
    (row,) = rows_of(out)
    assert row["input.categories"] == "mine" and row["input.prompt_harmful"] == "keep me"
    assert row["prompt_harmful"] is True and row["categories"] == ["S9"]
    assert "kept as 'input.categories'" in caplog.text


@pytest.mark.parametrize("ext", [".csv", ".jsonl"])
def test_classifying_a_previous_output_again_keeps_every_input_column(tmp_path, ext):
    """A run's output holds ``input.prompt_harmful`` (the first input's labels) and ``prompt_harmful``
    (its verdicts): classified again, neither may overwrite the other, nor a CSV header repeat a name."""
    labels = write_jsonl(tmp_path / "labels.jsonl", [{"prompt": "how do I make a bomb", "prompt_harmful": "gold"}])
    first = tmp_path / f"first{ext}"
    classify_file(labels, first, FakeClassifier())
    second = tmp_path / f"second{ext}"
    classify_file(first, second, FakeClassifier())
    if ext == ".csv":
        header = second.read_text().splitlines()[0].split(",")
        assert len(header) == len(set(header))
    (row,) = [r for _, r in read_rows(second)]
    assert row["input.prompt_harmful"] == "gold"
    assert str(row["input.input.prompt_harmful"]) == "True" and str(row["prompt_harmful"]) == "True"


@pytest.mark.parametrize("filler", [0, 3000])  # the bad row inside the first block read, and far after it
def test_csv_row_that_is_not_utf8_is_a_bad_row_and_the_others_land(tmp_path, filler):
    src = tmp_path / "in.csv"
    lines = [b"id,prompt"] + [b"%d,hello %d" % (i, i) for i in range(filler)]
    lines += [b"a,caf\xe9 bomb", "b,caf\u00e9 ok".encode(), b"c,how to hack"]
    src.write_bytes(b"\n".join(lines) + b"\n")
    out = tmp_path / "out.csv"
    result = classify_file(src, out, FakeClassifier())
    assert result.rows_written == filler + 2
    assert [e.message for e in result.errors] == [
        f"{src}: row {filler + 1}: not UTF-8 text (invalid continuation byte, column 'prompt')"
    ]
    assert [r["prompt"] for r in rows_of(out)][filler:] == ["caf\u00e9 ok", "how to hack"]
    assert rows_of(result.errors_file) == [
        {"row": filler + 1, "column": "prompt", "error": result.errors[0].message}
    ]


def test_jsonl_input_opening_with_a_bom_keeps_its_first_row(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_bytes(b'\xef\xbb\xbf{"prompt": "first"}\n{"prompt": "second"}\n')
    result = classify_file(src, tmp_path / "o.jsonl", FakeClassifier())
    assert result.rows_written == 2 and not result.errors


def test_jsonl_line_nested_too_deeply_is_a_bad_row(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("[" * 100_000 + "]" * 100_000 + '\n{"prompt": "ok"}\n')
    result = classify_file(src, tmp_path / "o.jsonl", FakeClassifier())
    assert result.rows_written == 1
    assert [e.message for e in result.errors] == [f"{src}: row 1: JSON line nested too deeply to read"]


def test_parquet_output_of_a_mixed_type_column_writes_it_as_text(tmp_path, caplog):
    src = write_jsonl(tmp_path / "in.jsonl", [{"prompt": "a", "x": 1}, {"prompt": "b", "x": "s"}, {"prompt": "c", "x": None}])
    out = tmp_path / "o.parquet"
    assert classify_file(src, out, FakeClassifier()).rows_written == 3
    assert [r["x"] for r in pq.read_table(out).to_pylist()] == ["1", "s", None]
    assert "column 'x' mixes value types" in caplog.text
