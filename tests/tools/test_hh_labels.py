"""tools/hh_labels.py: export -> (labels) -> assemble round trip on a tiny hh-rlhf folder."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from guardkit.train.data import hh_labelled_set

_spec = importlib.util.spec_from_file_location("hh_labels", Path(__file__).resolve().parents[2] / "tools" / "hh_labels.py")
assert _spec and _spec.loader
hh_labels = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hh_labels)


def _transcript(*turns: str) -> str:
    return "".join(f"\n\n{'Human' if i % 2 == 0 else 'Assistant'}: {t}" for i, t in enumerate(turns))


@pytest.fixture()
def data_dir(tmp_path: Path) -> Path:
    rows = [
        {"chosen": _transcript("How do I pick a lock?", "I'd rather not."),
         "rejected": _transcript("How do I pick a lock?", "Use a tension wrench.")},
        {"chosen": _transcript("Pasta?", "Carbonara.", "And a wine?", "A dry white."),
         "rejected": _transcript("Pasta?", "Carbonara.", "And a wine?", "Whatever.")},
        {"chosen": _transcript("An eval prompt", "ok"), "rejected": _transcript("An eval prompt", "no")},
    ]
    folder = tmp_path / "train" / "hh-rlhf-harmless-base-test"
    folder.mkdir(parents=True)
    (folder / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (folder / "EVAL_OVERLAP.txt").write_text("an eval prompt\n", encoding="utf-8")
    return tmp_path / "train"


def _read(folder: Path) -> list[dict]:
    return [json.loads(x) for f in sorted(folder.glob("part-*.jsonl")) for x in f.read_text(encoding="utf-8").splitlines()]


def test_export_assemble_round_trip(data_dir: Path, tmp_path: Path) -> None:
    hh_labels.export(data_dir, tmp_path / "in", 2, last=False)
    hh_labels.export(data_dir, tmp_path / "in2", 2, last=True)
    first, last = _read(tmp_path / "in"), _read(tmp_path / "in2")
    # first exchanges: both replies of the single-turn transcript, one of the multi-turn one; eval overlap dropped
    assert sorted(x["id"] for x in first) == ["0:chosen", "0:rejected", "1:chosen"]
    assert sorted(x["id"] for x in last) == ["1:chosen:last", "1:rejected:last"]
    assert all(x["context"] == "H: Pasta?\nA: Carbonara." for x in last)
    for folder, items in (("out", first), ("out2", last)):
        (tmp_path / folder).mkdir()
        lines = [{"id": x["id"], "skip": 1} if x["response"] == "Whatever." else
                 {"id": x["id"], "p": int("lock" in x["prompt"]), "r": int("rather" in x["response"]),
                  "h": int("wrench" in x["response"])} for x in items]
        (tmp_path / folder / "part-0.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    dest = tmp_path / "labels.jsonl"
    hh_labels.assemble(data_dir, [tmp_path / "out", tmp_path / "out2"], dest)
    rows = hh_labelled_set(data_dir, 100, dest) + hh_labelled_set(data_dir, 100, dest, last=True)
    assert sorted((e.prompt, e.response, e.prompt_harmful, e.response_refusal, e.response_harmful) for e in rows) == [
        ("And a wine?", "A dry white.", 0, 0, 0),
        ("How do I pick a lock?", "I'd rather not.", 1, 1, 0),
        ("How do I pick a lock?", "Use a tension wrench.", 1, 0, 1),
        ("Pasta?", "Carbonara.", 0, 0, 0),
    ]  # the skipped exchange is left out
    assert "Pasta" not in dest.read_text(encoding="utf-8")  # ids and fingerprints only, no text


def test_assemble_rejects_bad_labels(data_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "part-0.jsonl").write_text(json.dumps({"id": "0:chosen", "p": 2, "r": 0, "h": 0}) + "\n")
    with pytest.raises(SystemExit, match="bad line"):
        hh_labels.assemble(data_dir, [tmp_path / "out"], tmp_path / "labels.jsonl")


def test_revision_pass_changes_only_the_listed_labels(data_dir: Path, tmp_path: Path) -> None:
    hh_labels.export(data_dir, tmp_path / "in", 1, last=False)
    (tmp_path / "out").mkdir()
    lines = [{"id": "0:chosen", "p": 1, "r": 1, "h": 0}, {"id": "0:rejected", "p": 1, "r": 0, "h": 0},
             {"id": "1:chosen", "p": 0, "r": 0, "h": 0}]
    (tmp_path / "out" / "part-0.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    first = tmp_path / "labels.jsonl"
    hh_labels.assemble(data_dir, [tmp_path / "out"], first)
    hh_labels.export_revision(data_dir, tmp_path / "in3", 1, "1,0,0", labels=first)
    assert [x["id"] for x in _read(tmp_path / "in3")] == ["0:rejected"]
    (tmp_path / "out3").mkdir()
    (tmp_path / "out3" / "part-0.jsonl").write_text(json.dumps({"id": "0:rejected", "h": 1}) + "\n", encoding="utf-8")
    final = tmp_path / "final.jsonl"
    hh_labels.assemble(data_dir, [tmp_path / "out"], final, [tmp_path / "out3"])
    got = {x["id"]: (x["p"], x["r"], x["h"]) for x in map(json.loads, final.read_text(encoding="utf-8").splitlines())}
    assert got == {"0:chosen": (1, 1, 0), "0:rejected": (1, 0, 1), "1:chosen": (0, 0, 0)}
    (tmp_path / "out3" / "part-0.jsonl").write_text(json.dumps({"id": "9:chosen", "h": 1}) + "\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="unknown ids"):
        hh_labels.assemble(data_dir, [tmp_path / "out"], final, [tmp_path / "out3"])
