"""`guardkit taxonomy`: the mapping table and one category's conversions, with clear errors."""

from __future__ import annotations

import pytest

from guardkit.cli import main
from guardkit.taxonomy import markdown_table


def test_prints_the_mapping_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["taxonomy"]) == 0
    assert capsys.readouterr().out.strip() == markdown_table()


def test_converts_one_category_into_every_other_taxonomy(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["taxonomy", "S10", "--from", "llamaguard3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in out] == ["wildguard", "llamaguard2", "openai"]
    assert "toxic_language_hate_speech" in out[0] and "hate (" in out[2]
    assert main(["taxonomy", "hate", "--from", "openai", "--to", "llamaguard3"]) == 0
    assert capsys.readouterr().out.strip() == "llamaguard3: S10 (Hate)"


@pytest.mark.parametrize(("argv", "message"), [
    (["taxonomy", "S99", "--from", "llamaguard3"], "unknown llamaguard3 category 'S99'"),
    (["taxonomy", "S2", "--from", "nope"], "unknown taxonomy 'nope'"),
    (["taxonomy", "S2", "--from", "llamaguard3", "--to", "nope"], "unknown taxonomy 'nope'"),
    (["taxonomy", "S2"], "add --from"),
    (["taxonomy", "--to", "openai"], "need a CATEGORY"),
])
def test_bad_input_is_one_clear_error(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err
