from __future__ import annotations

import json

import pytest

from guardkit.cli import main


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["redteam", *args])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "gpt9", "--attacks", "harmful"],
         "error: unknown target 'gpt9'; expected one of smollm2, hf:PATH_OR_ID, openai:BASE_URL#MODEL"),
        (["--target", "smollm2", "--attacks", "everything"],
         "error: unknown attack set 'everything'; expected one of wildjailbreak, harmful, templates"),
        (["--target", "smollm2", "--attacks", "harmful", "--mutators", "none,rot13"],
         "error: unknown mutator 'rot13'; expected 'all' or one of none, roleplay, base64"),
        (["--target", "smollm2", "--attacks", "harmful", "--judge", "oracle"],
         "error: unknown backend 'oracle'; expected one of"),
        (["--target", "smollm2", "--attacks", "harmful", "--limit", "0"],
         "error: --limit must be a positive integer, got 0"),
        (["--target", "smollm2", "--attacks", "harmful", "--judge", "fake", "--data-dir", "/nonexistent/data"],
         "error: data dir '/nonexistent/data' does not exist; pass --data-dir or set GUARDKIT_DATA_DIR"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(capsys, tmp_path, args, message):
    code, out, err = _run(capsys, *args, "--out", str(tmp_path), "--no-progress")
    assert code == 2
    assert err.strip().startswith(message)
    assert len(err.strip().splitlines()) == 1 and out == ""


def test_out_that_cannot_be_a_folder_is_one_clear_line(capsys, tmp_path):
    a_file = tmp_path / "a-file.json"
    a_file.write_text("{}")
    for out, message in ((a_file, "is a file"), (a_file / "sub", "cannot create the folder")):
        code, _, err = _run(capsys, "--target", "smollm2", "--attacks", "harmful", "--judge", "fake",
                            "--data-dir", "/nonexistent/data", "--out", str(out), "--no-progress")
        assert code == 2
        assert err.strip().startswith(f"error: --out {out}") and message in err and "Traceback" not in err


def test_missing_data_file_is_named(capsys, tmp_path):
    (tmp_path / "data").mkdir()
    code, _, err = _run(capsys, "--target", "smollm2", "--attacks", "wildjailbreak", "--judge", "fake",
                        "--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "o"), "--no-progress")
    assert code == 2
    assert "attack data file" in err and "eval/wildjailbreak-eval/harmful.jsonl' is missing" in err


@pytest.mark.data
def test_end_to_end_with_a_loopback_openai_target(capsys, tmp_path, chat_server, data_dir):
    args = ["--target", f"openai:{chat_server.url}#echo", "--attacks", "harmful", "--judge", "fake",
            "--guard", "fake", "--limit", "6", "--mutators", "none,leetspeak", "--data-dir", str(data_dir),
            "--out", str(tmp_path), "--no-progress", "--no-plot"]
    code, out, err = _run(capsys, *args)
    assert code == 0, err
    assert out.startswith("| slice | harmful n | ASR without guard | ASR with guard |")
    assert "| mutator: leetspeak | 6 |" in out and "| base64 | 6 |" in out
    report = json.loads((tmp_path / "report.json").read_text())
    assert 0.0 <= report["without_guard"]["asr"] <= 1.0 and report["with_guard"]["rta"] is None
    assert set(report["per_mutator"]) == {"none", "leetspeak"}
    assert report["params"]["mutators"] == ["none", "leetspeak"]
    assert any(k.startswith("train/advbench/") for k in report["data_hashes"])
    assert len(chat_server.requests) == 12

    # resumed: same command, the target is not called again
    code, out2, _ = _run(capsys, *args)
    assert code == 0 and out2 == out and len(chat_server.requests) == 12


@pytest.mark.data
def test_without_guard_reports_one_arm(capsys, tmp_path, chat_server, data_dir):
    args = ["--target", f"openai:{chat_server.url}#echo", "--attacks", "wildjailbreak", "--judge", "fake",
            "--limit", "2", "--data-dir", str(data_dir), "--out", str(tmp_path), "--no-progress", "--no-plot"]
    code, out, err = _run(capsys, *args)
    assert code == 0, err
    assert "with guard" not in out and "evasion" not in out
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["with_guard"] is None and report["guard_evasion"] == {}
    assert report["without_guard"]["rta_ci"]["n"] == 2
    assert not (tmp_path / "report.png").exists()
    assert len((tmp_path / "results.jsonl").read_text().splitlines()) == 4
