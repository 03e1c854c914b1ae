"""``guardkit.io``: reading rows, with bad rows yielded as :class:`RowError` and the rest kept."""

from __future__ import annotations

from guardkit.io import RowError, read_rows


def test_csv_row_that_is_not_utf8_is_a_row_error(tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes(b'\xef\xbb\xbfprompt,note\nok,1\n"two\nlines",caf\xe9!\nlast,\xc3\xa9\n')
    rows = list(read_rows(src))
    assert rows == [
        (1, {"prompt": "ok", "note": "1"}),
        (2, RowError(2, f"{src}: row 2: not UTF-8 text (invalid continuation byte, column 'note')", "note")),
        (3, {"prompt": "last", "note": "\u00e9"}),
    ]


def test_jsonl_line_with_a_duplicate_key_is_a_row_error(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"prompt": "a", "prompt": "b"}\n'
                   '{"prompt": "ok"}\n'
                   '{"messages": [{"role": "user", "content": "x", "content": "y"}]}\n')
    assert list(read_rows(src)) == [
        (1, RowError(1, f"{src}: row 1: key 'prompt' appears more than once in one JSON object")),
        (2, {"prompt": "ok"}),
        (3, RowError(3, f"{src}: row 3: key 'content' appears more than once in one JSON object")),
    ]
