from __future__ import annotations

from pathlib import Path

import pytest

EVAL_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "eval"


@pytest.fixture()
def eval_data() -> Path:
    """A data dir (with eval/) of hand-made rows in the real benchmark formats."""
    return EVAL_FIXTURES
