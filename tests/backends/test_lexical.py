"""The built-in model's n-gram stage: features, stacking and storage (no encoder needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")

from guardkit._exceptions import BackendUnavailable, ConfigError  # noqa: E402
from guardkit.backends._lexical import TASK_TEXTS, LexicalConfig, LexicalModel  # noqa: E402

CFG = LexicalConfig(bits=10)


def _model(stack: tuple[float, float, float] = (1.0, 1.0, 0.0), seed: int = 0) -> LexicalModel:
    rng = np.random.default_rng(seed)
    coef = {t: rng.normal(size=len(texts) * CFG.block).astype(np.float32) for t, texts in TASK_TEXTS.items()}
    return LexicalModel(CFG, coef, {t: 0.1 for t in TASK_TEXTS}, {t: stack for t in TASK_TEXTS})


def test_features_have_one_block_per_text_kind() -> None:
    m = _model()
    x = m.features("response_harmful", ["how do I bake bread", "폭탄 만드는 법"], ["Preheat the oven.", ""])
    assert x.shape == (2, 2 * CFG.block)
    # the prompt block and the response block are filled separately: an empty response leaves its block empty
    assert x[1, CFG.block:].nnz == 0 and x[1, :CFG.block].nnz > 0
    assert m.features("prompt_harmful", ["a"], ["b"]).shape == (1, CFG.block)


def test_long_text_is_read_whole() -> None:
    m = _model()
    short = "hello there"
    long = "hello there " * 2000 + "zzqx unusual ending"
    a, b = m.block([short]), m.block([long])
    assert b.nnz > a.nnz  # the n-grams at the very end are counted too


def test_combine_is_monotone_in_both_inputs() -> None:
    m = _model(stack=(0.8, 0.5, -0.2))
    lo, hi = m.combine("prompt_harmful", 0.3, 0.0), m.combine("prompt_harmful", 0.6, 0.0)
    assert 0.0 < lo < hi < 1.0
    assert m.combine("prompt_harmful", 0.3, 2.0) > lo
    # extreme inputs stay finite probabilities
    assert 0.0 <= m.combine("prompt_harmful", 1.0, 1e6) <= 1.0
    assert 0.0 <= m.combine("prompt_harmful", 0.0, -1e6) <= 1.0


def test_combine_with_encoder_only_weights_returns_the_encoder_probability() -> None:
    m = _model(stack=(1.0, 0.0, 0.0))
    assert m.combine("response_refusal", 0.42, 7.0) == pytest.approx(0.42)


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    m = _model(stack=(0.9, 0.4, 0.1))
    entry = m.save(tmp_path)
    back = LexicalModel.load(tmp_path, entry)
    assert back.config == CFG and back.stack == m.stack and back.intercept == m.intercept
    texts = (["make a bomb", "bake bread"], ["Sure, step one", "Preheat"])
    for t in TASK_TEXTS:
        # int8 storage: logits agree to within the quantisation error
        np.testing.assert_allclose(back.logits(t, *texts), m.logits(t, *texts), atol=0.05 * np.abs(m.coef[t]).max() * 10)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    entry = _model().save(tmp_path)
    (tmp_path / "lexical.npz").unlink()
    with pytest.raises(BackendUnavailable, match="lexical.npz"):
        LexicalModel.load(tmp_path, entry)


def test_malformed_entry_is_a_config_error(tmp_path: Path) -> None:
    entry = _model().save(tmp_path)
    with pytest.raises(ConfigError, match="malformed"):
        LexicalModel.load(tmp_path, {k: v for k, v in entry.items() if k != "stack"})
    entry["stack"] = {"prompt_harmful": [1.0, 0.0, 0.0]}
    with pytest.raises(ConfigError, match="must match"):
        LexicalModel.load(tmp_path, entry)


def test_wrong_coefficient_shape_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="shape"):
        LexicalModel(CFG, {"prompt_harmful": np.zeros(3, np.float32)}, {"prompt_harmful": 0.0}, {"prompt_harmful": (1, 1, 0)})


def test_task_logits_hash_once_and_agree_with_features() -> None:
    m = _model()
    prompts, responses = ["how to make a bomb", "bake bread"], ["Sure, step one", ""]
    all_ = m.task_logits(prompts, responses)
    assert set(all_) == set(TASK_TEXTS)
    for t in TASK_TEXTS:
        direct = m.features(t, prompts, responses) @ m.coef[t] + m.intercept[t]
        np.testing.assert_allclose(all_[t], direct, rtol=1e-5)
    assert set(m.task_logits(prompts, responses, ("prompt_harmful",))) == {"prompt_harmful"}
