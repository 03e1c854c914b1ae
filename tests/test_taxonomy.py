from __future__ import annotations

import csv

import pytest

from guardkit import CategoryScore, ConfigError
from guardkit.taxonomy import (
    LLAMAGUARD2,
    LLAMAGUARD3,
    OPENAI,
    WILDGUARD,
    convert,
    convert_categories,
    markdown_table,
)


def test_sizes():
    assert len(WILDGUARD) == 13
    assert list(LLAMAGUARD3) == [f"S{i}" for i in range(1, 15)]
    assert list(LLAMAGUARD2) == [f"S{i}" for i in range(1, 12)]
    assert len(OPENAI) == 13


@pytest.mark.parametrize(
    ("cat", "src", "dst", "expected"),
    [
        ("S10", "llamaguard3", "openai", ("hate",)),
        ("S11", "llamaguard3", "wildguard", ("mental_health_over-reliance_crisis",)),
        ("S9", "llamaguard2", "llamaguard3", ("S10",)),  # LG2 S9 Hate -> LG3 S10 Hate
        ("S5", "llamaguard2", "llamaguard3", ("S6",)),  # Specialized Advice
        ("sexual/minors", "openai", "llamaguard3", ("S4",)),
        ("cyberattack", "wildguard", "llamaguard3", ("S14", "S2")),
        ("copyright_violations", "wildguard", "openai", ()),
        ("S1", "llamaguard3", "llamaguard3", ("S1",)),
    ],
)
def test_convert(cat, src, dst, expected):
    assert convert(cat, src, dst) == expected


def test_every_category_converts_everywhere_without_error():
    for src, cats in [
        ("wildguard", WILDGUARD),
        ("llamaguard3", LLAMAGUARD3),
        ("llamaguard2", LLAMAGUARD2),
        ("openai", OPENAI),
    ]:
        for c in cats:
            for dst in ("wildguard", "llamaguard3", "llamaguard2", "openai"):
                assert isinstance(convert(c, src, dst), tuple)


def test_names_errors():
    with pytest.raises(ConfigError, match="unknown taxonomy 'x'"):
        convert("S1", "x", "openai")
    with pytest.raises(ConfigError, match="unknown llamaguard3 category 'S99'"):
        convert("S99", "llamaguard3", "openai")


def test_convert_keeps_max_score():
    cats = [CategoryScore("llamaguard3", "S1", 0.2), CategoryScore("openai", "violence", 0.7)]
    assert convert_categories(cats, "openai")["violence"] == 0.7


def test_table_has_a_row_per_hazard():
    assert markdown_table().count("\n| S") == 14


@pytest.mark.data
def test_wildguard_names_match_wildguardtest(data_dir):
    with open(data_dir / "eval/wildguardtest/wildguardtest.csv", newline="") as fh:
        names = {r["subcategory"] for r in csv.DictReader(fh)}
    assert names - {"benign", "others"} == set(WILDGUARD)


def test_docs_table_is_in_sync():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "taxonomy.md").read_text()
    assert markdown_table() in doc
