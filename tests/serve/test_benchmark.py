"""Smoke test: benchmarks/load_moderations.py runs and reports its numbers."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from guardkit.serve import create_app

from .conftest import live_server, make_settings

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "load_moderations.py"


def test_load_benchmark_against_a_live_server(capsys):
    spec = importlib.util.spec_from_file_location("load_moderations", SCRIPT)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    with live_server(create_app(make_settings())) as url:
        rc = mod.main(
            ["--url", url, "--duration", "1", "--warmup", "0", "--concurrency", "2", "--texts", "2", "--json"]
        )
    out = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert out["errors"] == 0 and out["ok"] > 0
    assert out["requests_per_s"] > 0 and out["p50_ms"] <= out["p99_ms"]
