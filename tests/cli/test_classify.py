"""``guardkit classify`` end to end, as a user runs it (real subprocesses)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from guardkit.batch import journal_path


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "guardkit", *args], capture_output=True, text=True, timeout=timeout
    )


def test_single_prompt_json():
    proc = run(
        "classify", "--prompt", "how do I make a bomb", "--response", "I can't help.", "-b", "fake", "--json"
    )
    assert proc.returncode == 0, proc.stderr
    v = json.loads(proc.stdout)
    assert v["prompt_harmful"] == {"label": True, "score": 0.9, "threshold": 0.5}
    assert v["response_refusal"]["label"] is True
    assert v["response_harmful"]["label"] is False
    assert v["backend"] == "fake"


def test_single_prompt_only_has_no_response_fields():
    proc = run("classify", "--prompt", "tell me a joke", "-b", "fake", "--json")
    v = json.loads(proc.stdout)
    assert v["response_refusal"] is None and v["response_harmful"] is None


def test_threshold_override():
    proc = run("classify", "--prompt", "hello", "-b", "fake", "--threshold", "prompt_harmful=0.05", "--json")
    assert json.loads(proc.stdout)["prompt_harmful"] == {"label": True, "score": 0.1, "threshold": 0.05}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["classify", "--prompt", "x", "-b", "nope"],
            "error: unknown backend 'nope'; expected one of builtin, fake, hf, openai, vllm",
        ),
        (["classify", "--prompt", "  ", "-b", "fake"], "error: the user prompt is empty"),
        (["classify", "-b", "fake"], "error: nothing to classify"),
        (["classify", "--prompt", "x", "-b", "fake", "-o", "o.jsonl"], "error: --output goes with an INPUT file"),
        (["classify", "missing.jsonl", "-o", "o.jsonl", "-b", "fake"], "error: missing.jsonl: no such file"),
        (["classify", "examples/conversations.jsonl", "-b", "fake"], "--output is required"),
        (
            ["classify", "--prompt", "x", "-b", "fake", "--threshold", "prompt_harmful=2"],
            "must be a probability in [0, 1]",
        ),
        (
            ["classify", "--prompt", "x", "-b", "fake", "-O", "oops"],
            "backend option must look like key=value",
        ),
        (
            ["classify", "--prompt", "x", "-b", "fake", "-O", "colour=red"],
            "error: backend 'fake': unknown option 'colour'; valid options: batch_size, delay, fail_on, thresholds",
        ),
        (["classify", "--prompt", "x", "-b", "fake", "-O", "delay=-1"], "delay must be a number of seconds >= 0"),
        (["classify", "--prompt", "x", "-b", "fake", "-O", "thresholds=0.3"], "thresholds must be a guardkit.Thresholds"),
        (["eval", "--backend", "fake", "--out", "README.md"], "--out README.md is a file"),
        (["serve", "--backend", "fake", "--log-level", "loud"], "--log-level must be debug, info, warning or error"),
    ],
)
def test_bad_input_gives_one_clear_line_and_exit_2(args, message):
    proc = run(*args)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_rows_exit_1_and_name_file_row_column(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"prompt": "hi"}\n{"prompt": ""}\n{broken\n')
    out = tmp_path / "out.jsonl"
    proc = run("classify", str(src), "-o", str(out), "-b", "fake", "--no-progress")
    assert proc.returncode == 1
    assert f"{src}: row 2: column 'prompt' is empty" in proc.stderr
    assert f"{src}: row 3: broken JSON line" in proc.stderr
    assert len(out.read_text().splitlines()) == 1


def test_sigkill_mid_run_then_resume_loses_and_duplicates_nothing(tmp_path):
    n = 120
    src = tmp_path / "in.jsonl"
    src.write_text(
        "".join(
            json.dumps({"id": i, "prompt": f"how to kill process {i}" if i % 3 else f"hello {i}"}) + "\n"
            for i in range(n)
        )
    )
    out = tmp_path / "out.jsonl"
    args = [
        sys.executable,
        "-m",
        "guardkit",
        "classify",
        str(src),
        "-o",
        str(out),
        "-b",
        "fake",
        "-O",
        "delay=0.05",
        "--batch-size",
        "4",
        "--no-progress",
    ]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    journal = journal_path(out)
    deadline = time.time() + 60
    while time.time() < deadline:
        if journal.exists() and len(journal.read_text().splitlines()) > 20:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    done_before = len(journal.read_text().splitlines()) - 1  # minus the meta line
    assert 0 < done_before < n and not out.exists()

    resumed = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert f"({done_before} resumed from an earlier run)" in resumed.stderr or "resumed" in resumed.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == list(range(n))  # every row once, in order
    for r in rows:
        assert r["prompt_harmful"] is ("kill" in r["prompt"])
    assert not journal.exists()


def test_unknown_option_is_a_usage_error_not_a_traceback():
    proc = run("classify", "--prompt", "x", "-b", "fake", "--nope")
    assert proc.returncode == 2
    assert "No such option: --nope" in proc.stderr
    assert "Traceback" not in proc.stderr
