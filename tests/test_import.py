"""The public surface and the promise that ``import guardkit`` needs no torch."""

from __future__ import annotations

import subprocess
import sys

import guardkit


def test_all_is_exactly_the_public_surface():
    public = {n for n in dir(guardkit) if not n.startswith("_")} - {
        "annotations", "backends", "taxonomy", "io",
    }
    assert set(guardkit.__all__) - {"__version__"} == public - {"cli", "eval", "formats", "serve", "redteam", "train"}


def test_import_without_torch():
    code = (
        "import sys, guardkit, guardkit.cli, guardkit.taxonomy, guardkit.io;"
        "bad = [m for m in ('torch', 'transformers', 'vllm', 'fastapi', 'sklearn', 'matplotlib') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
