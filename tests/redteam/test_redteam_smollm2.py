"""One real end-to-end run: SmolLM2-135M-Instruct on CPU, a tiny sample, through the CLI."""

from __future__ import annotations

import json

import pytest

from guardkit.cli import main

pytestmark = [pytest.mark.slow, pytest.mark.data, pytest.mark.timeout(300)]


def test_smollm2_end_to_end(smollm2_gguf, data_dir, tmp_path, capsys):
    # one harmful + one benign WildJailbreak prompt, each unmutated and in the past tense
    args = ["redteam", "--target", "smollm2", "--attacks", "wildjailbreak", "--judge", "fake", "--guard", "fake",
            "--limit", "1", "--mutators", "none,past_tense", "--target-option", "max_new_tokens=16",
            "--evasion-mutators", "base64,leetspeak", "--data-dir", str(data_dir), "--out", str(tmp_path),
            "--no-progress"]
    assert main(args) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "| all | 2 |" in out and "| mutator: past_tense | 1 |" in out and "| base64 | 1 |" in out
    report = json.loads((tmp_path / "report.json").read_text())
    for arm in ("without_guard", "with_guard"):
        assert 0.0 <= report[arm]["asr"] <= 1.0 and 0.0 <= report[arm]["rta"] <= 1.0
    assert report["params"]["target_params"]["target"] == "smollm2"
    gens = [json.loads(x) for x in (tmp_path / "generations.jsonl").read_text().splitlines()]
    assert len(gens) == 4 and all(isinstance(g["response"], str) for g in gens)
    assert any(g["response"].strip() for g in gens)  # the model really answered
    assert (tmp_path / "report.png").stat().st_size > 1000
