"""The public surface and the promise that ``import guardkit`` needs no torch."""

from __future__ import annotations

import subprocess
import sys
import types

import guardkit


def test_all_is_exactly_the_public_surface():
    # every public non-module attribute is exported, and every export exists
    public = {
        n
        for n in dir(guardkit)
        if not n.startswith("_")
        and not isinstance(getattr(guardkit, n), types.ModuleType)
        and n != "annotations"
    }
    assert set(guardkit.__all__) - {"__version__"} == public
    assert all(hasattr(guardkit, n) for n in guardkit.__all__)


def test_import_without_torch():
    code = (
        "import sys, guardkit, guardkit.cli, guardkit.taxonomy, guardkit.io;"
        "bad = [m for m in ('torch', 'transformers', 'vllm', 'fastapi', 'sklearn', 'matplotlib') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
