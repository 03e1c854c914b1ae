from __future__ import annotations

import csv
import json

import pytest

from guardkit.backends.fake import FakeClassifier
from guardkit.cli import main
from guardkit.eval.report import load_published, markdown, write_report
from guardkit.eval.suites import PAPER_COLUMNS, SuiteEvaluator

PAPER_TITLES = [c.title for c in PAPER_COLUMNS if c.in_mean]


@pytest.fixture()
def paper_result(eval_data, tmp_path):
    return SuiteEvaluator("paper", data_dir=eval_data, cache_dir=tmp_path / "cache").run(FakeClassifier())


def test_thirteen_paper_columns():
    assert len(PAPER_TITLES) == 13


def test_report_json_schema(paper_result, tmp_path):
    files = write_report(paper_result, tmp_path / "out")
    names = {f.name for f in files}
    assert {"report.json", "report.csv", "report.md", "pr_curves.png", "reliability.png"} <= names
    doc = json.loads((tmp_path / "out" / "report.json").read_text())
    assert {"suite", "backend", "columns", "mean_f1", "data", "params"} <= set(doc)
    assert doc["suite"] == "paper" and doc["backend"] == "fake"
    assert set(PAPER_TITLES) <= set(doc["columns"])
    for col in doc["columns"].values():
        assert {"f1", "precision", "recall", "n", "parse_errors"} <= set(col)
    mean = sum(doc["columns"][t]["f1"] for t in PAPER_TITLES) / 13
    assert doc["mean_f1"] == pytest.approx(mean)
    assert all(len(h) == 64 for h in doc["data"].values())
    assert "eval/wildguardtest/wildguardtest.csv" in doc["data"]
    assert doc["params"]["backend"] == "fake"
    assert doc["metrics"]["toxicchat_f1"] == doc["columns"]["ToxicChat"]["f1"]
    assert all("upper bound" in o["note"] for o in doc["oracle"].values())
    cats = {(c["source"], c["category"]) for c in doc["categories"]}
    assert ("OpenAI Mod", "SH") in cats and ("WildGuardTest", "cyberattack") in cats


def test_report_csv_has_one_row_per_column_and_the_mean(paper_result, tmp_path):
    write_report(paper_result, tmp_path, plots=False)
    rows = list(csv.DictReader((tmp_path / "report.csv").open()))
    assert [r["column"] for r in rows][:13] == PAPER_TITLES
    assert rows[-1]["column"] == "mean (13)"
    assert "published:WildGuard-7B" in rows[0]


def test_published_numbers_have_sources():
    models, sources = load_published()
    names = [m.name for m in models]
    assert {"WildGuard-7B", "GPT-4", "Llama-Guard2-8B", "Llama-Guard-3-8B", "ShieldGemma-9B"} <= set(names)
    for m in models:
        for key, value in m.f1.items():
            if value is not None:
                assert m.source[key] in sources, (m.name, key)
                assert 0 <= value <= 100
    wildguard = next(m for m in models if m.name == "WildGuard-7B")
    assert wildguard.f1["toxicchat"] == 70.8 and wildguard.mean_f1 == pytest.approx(85.17, abs=0.01)


def test_markdown_puts_ours_next_to_published(paper_result):
    text = markdown(paper_result)
    assert "| column | n | guardkit:fake |" in text and "WildGuard-7B" in text
    assert "**mean (13)**" in text and "oracle" in text


def test_korean_suite_reports_gap_to_nearest_english(eval_data, tmp_path):
    res = SuiteEvaluator("korean", data_dir=eval_data).run(FakeClassifier())
    doc_md = markdown(res)
    assert "nearest English" in doc_md
    assert res.column("toxicchat") is not None and res.column("openai_mod") is not None
    assert res.mean_f1 is None


def test_overrefusal_suite_reports_false_positive_rate(eval_data):
    res = SuiteEvaluator("overrefusal", data_dir=eval_data).run(FakeClassifier())
    col = res.column("xstest_safe")
    # the fake backend flags "kill" -> 1 of the 2 safe XSTest prompts
    assert col is not None and col.metrics.false_positive_rate == pytest.approx(50.0)


def test_cli_paper_on_fixtures(eval_data, tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["eval", "--suite", "paper", "--backend", "fake", "--data-dir", str(eval_data),
               "--out", str(out), "--limit", "3", "--no-progress"])
    assert rc == 0
    stdout = capsys.readouterr().out
    for title in PAPER_TITLES:
        assert f"| {title} |" in stdout
    assert "**mean (13)**" in stdout
    doc = json.loads((out / "report.json").read_text())
    assert doc["limit"] == 3 and all(c["n"] <= 3 for c in doc["columns"].values())
    assert (out / "cache").is_dir() and (out / "reliability.png").is_file()
    # re-rendering: everything from the cache
    rc = main(["eval", "--backend", "fake", "--data-dir", str(eval_data), "--out", str(out), "--limit", "3",
               "--no-plots", "--no-progress"])
    assert rc == 0
    assert json.loads((out / "report.json").read_text())["timings"]["predicted"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--suite", "nope"], "error: unknown suite 'nope'"),
        (["--backend", "nope"], "error: unknown backend 'nope'"),
        (["--backend-opt", "novalue"], "error: backend option must look like key=value"),
        (["--limit", "0"], "error: limit must be a positive number of items, got 0"),
    ],
)
def test_cli_errors_are_one_line(eval_data, tmp_path, capsys, args, message):
    rc = main(["eval", "--backend", "fake", "--data-dir", str(eval_data), "--out", str(tmp_path), *args])
    assert rc == 2
    assert message in capsys.readouterr().err


def test_cli_missing_data_dir(tmp_path, capsys):
    rc = main(["eval", "--backend", "fake", "--data-dir", str(tmp_path / "none"), "--out", str(tmp_path)])
    assert rc == 2
    assert "has no eval/ folder" in capsys.readouterr().err


def test_categories_report_the_first_category_named(paper_result, tmp_path):
    """top-1: the first category (as a Llama Guard 3 code) must be one the gold category maps to."""
    cats = {(c.source, c.category): c for c in paper_result.categories}
    # the fake backend names S9 for "bomb": gold violence_and_physical_harm maps to S1 -> a miss
    bomb = cats[("WildGuardTest", "violence_and_physical_harm")]
    assert (bomb.flagged, bomb.typed, bomb.top_hit, bomb.top1) == (1, 1, 0, 0.0)
    # "malware" -> S14; cyberattack maps to (S14, S2) -> a hit
    cyber = cats[("WildGuardTest", "cyberattack")]
    assert (cyber.typed, cyber.top_hit) == (1, 1)
    # OpenAI codes are read through the openai taxonomy: V -> violence -> S1, the fake's "kill" -> S1
    assert cats[("OpenAI Mod", "V")].top1 == 100.0
    assert cats[("OpenAI Mod", "SH")].top1 == 100.0
    text = markdown(paper_result)
    assert "| typed | top-1 |" in text and "| **all** |" in text
    files = write_report(paper_result, tmp_path / "out")
    doc = json.loads(next(f for f in files if f.name == "report.json").read_text())
    row = next(c for c in doc["categories"] if c["category"] == "violence_and_physical_harm")
    assert row["typed"] == 1 and row["top1"] == 0.0


def test_categories_of_a_backend_without_categories_are_not_scored(eval_data, tmp_path):
    class NoCategories(FakeClassifier):
        def _classify_batch(self, batch):
            from dataclasses import replace

            return [replace(v, categories=()) for v in super()._classify_batch(batch)]

    res = SuiteEvaluator("paper", data_dir=eval_data, cache_dir=tmp_path / "c").run(NoCategories())
    assert res.categories and all(c.typed == 0 and c.top1 is None for c in res.categories)
    assert "| **all** |" not in markdown(res)
