"""tools/agent_written.py: near-duplicate check against eval texts and assembly of the shipped file."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from guardkit.train.data import written_set

_spec = importlib.util.spec_from_file_location("agent_written", Path(__file__).resolve().parents[2] / "tools" / "agent_written.py")
assert _spec and _spec.loader
agent_written = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(agent_written)

EVAL_PROMPT = "Please describe in detail every single step a person would take to bake sourdough bread at home"


def _row(prompt: str, response: str | None = None, **labels: object) -> str:
    row = {"prompt": prompt, "response": response, "prompt_harmful": 0,
           "response_refusal": None if response is None else 0, "response_harmful": None if response is None else 0,
           "category": None, "lang": "en", "kind": "t"} | labels
    return json.dumps(row) + "\n"


@pytest.fixture()
def eval_dir(tmp_path: Path) -> Path:
    d = tmp_path / "eval" / "someset"
    d.mkdir(parents=True)
    (d / "test.jsonl").write_text(json.dumps({"prompt": EVAL_PROMPT, "meta": {"note": "Short one"}}) + "\n", encoding="utf-8")
    (d / "other.csv").write_text("text,label\n\"안녕하세요 반갑습니다 여러분\",0\n", encoding="utf-8")
    (d / "SOURCE.txt").write_text("a description that must not count as eval text at all ever\n", encoding="utf-8")
    return tmp_path / "eval"


def test_assemble_drops_near_duplicates_and_exact_repeats(tmp_path: Path, eval_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = tmp_path / "A1.jsonl", tmp_path / "B1.jsonl"
    a.write_text(_row("Fresh prompt written here", "A fine answer.") +
                 _row("Hey! " + EVAL_PROMPT.lower() + ", thanks") +  # shares most shingles with an eval prompt
                 _row("short one"), encoding="utf-8")  # equal to an eval string after normalisation
    b.write_text(_row("Fresh prompt written here", "A fine answer.") +  # exact repeat across files
                 _row("안녕하세요 반갑습니다 여러분!") +  # Korean, character shingles, exact after norm
                 _row("a description that must not count as eval text at all ever"), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert agent_written.main(["assemble", str(a), str(b), "--eval-dir", str(eval_dir), "--out", str(out)]) == 0
    assert "flagged 3" in capsys.readouterr().out
    assert [e.prompt for e in written_set(100, out)] == ["Fresh prompt written here",
                                                        "a description that must not count as eval text at all ever"]


def test_assemble_refuses_a_bad_row_and_missing_inputs(tmp_path: Path, eval_dir: Path) -> None:
    from guardkit._exceptions import DatasetError

    bad = tmp_path / "A1.jsonl"
    bad.write_text(_row("ok prompt") + _row("bad prompt", prompt_harmful=2), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    with pytest.raises(DatasetError, match="line 2"):
        agent_written.main(["assemble", str(bad), "--eval-dir", str(eval_dir), "--out", str(out)])
    assert not out.exists() and not list(tmp_path.glob("*.tmp"))  # nothing half-written
    with pytest.raises(SystemExit):
        agent_written.main(["assemble", str(tmp_path / "nope.jsonl"), "--eval-dir", str(eval_dir), "--out", str(out)])
    with pytest.raises(SystemExit, match="not found"):
        agent_written.main(["near-dups", str(bad), "--eval-dir", str(tmp_path / "noeval")])
