"""The built-in model's n-gram stage: features, stacking and storage (no encoder needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")

from guardkit._exceptions import BackendUnavailable, ConfigError  # noqa: E402
from guardkit.backends._lexical import TASK_TEXTS, LexicalConfig, LexicalModel, is_korean  # noqa: E402

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


@pytest.mark.parametrize(("text", "korean"), [
    ("사과 파이 만드는 법 알려줘", True),
    ("ChatGPT 사용법 알려줘", True),  # a Korean sentence with an English word
    ("ㅋㅋㅋ 진짜?", True),  # jamo count
    ("I love kimchi 김치 so much, it is my favourite food", False),  # English quoting a Korean word
    ("How do I bake bread?", False),
    ("가", False),  # one Hangul character is not enough
    ("", False),
])
def test_is_korean(text: str, korean: bool) -> None:
    assert is_korean(text) is korean


def _routed() -> tuple[LexicalModel, LexicalModel]:
    shared = _model(stack=(1.0, 1.0, 0.0), seed=0)
    ko = _model(stack=(0.5, 2.0, -1.0), seed=1)
    routed = LexicalModel(CFG, shared.coef, shared.intercept, shared.stack,
                          korean=LexicalModel(CFG, {"prompt_harmful": ko.coef["prompt_harmful"]},
                                              {"prompt_harmful": -0.3}, {"prompt_harmful": ko.stack["prompt_harmful"]}))
    return shared, routed


def test_the_korean_route_scores_korean_texts_and_leaves_the_others_alone() -> None:
    shared, routed = _routed()
    prompts = ["how do I bake bread", "사과 파이 만드는 법 알려줘", "너 내일 학교 오면 죽는다", "kill the zombie process"]
    responses = ["", "", "", ""]
    routes = routed.routes(prompts, responses)
    assert routes["prompt_harmful"].tolist() == [False, True, True, False]
    assert not routes["response_refusal"].any() and not routes["response_harmful"].any()  # the route lacks those tasks
    z0, z1 = shared.task_logits(prompts, responses), routed.task_logits(prompts, responses)
    own = routed.korean.logits("prompt_harmful", prompts[1:3], responses[1:3])  # type: ignore[union-attr]
    assert z1["prompt_harmful"][[0, 3]] == pytest.approx(z0["prompt_harmful"][[0, 3]])
    assert z1["prompt_harmful"][[1, 2]] == pytest.approx(own)
    assert z1["response_harmful"] == pytest.approx(z0["response_harmful"])
    p = np.array([0.2, 0.4, 0.6, 0.8])
    got = routed.combine("prompt_harmful", p, z1["prompt_harmful"], routes["prompt_harmful"])
    want_en = shared.combine("prompt_harmful", p, z1["prompt_harmful"])
    want_ko = routed.korean.combine("prompt_harmful", p, z1["prompt_harmful"])  # type: ignore[union-attr]
    assert got[[0, 3]] == pytest.approx(want_en[[0, 3]]) and got[[1, 2]] == pytest.approx(want_ko[[1, 2]])
    # a float and a flag work as well as arrays (the backend's per-conversation call)
    assert float(routed.combine("prompt_harmful", 0.4, float(z1["prompt_harmful"][1]), True)) == pytest.approx(want_ko[1])


def test_the_korean_route_round_trips_through_storage(tmp_path: Path) -> None:
    _, routed = _routed()
    entry = routed.save(tmp_path)
    back = LexicalModel.load(tmp_path, entry)
    assert back.korean is not None and set(back.korean.coef) == {"prompt_harmful"}
    prompts = ["사과 파이 만드는 법 알려줘", "how do I bake bread"]
    assert back.task_logits(prompts, ["", ""])["prompt_harmful"] == pytest.approx(
        routed.task_logits(prompts, ["", ""])["prompt_harmful"], abs=0.05)
    entry["korean"]["stack"]["response_refusal"] = [1.0, 1.0, 0.0]  # a task the file lacks under ko/
    with pytest.raises(ConfigError, match="Korean route"):
        LexicalModel.load(tmp_path, entry)


def test_a_route_with_another_config_is_refused() -> None:
    shared = _model()
    other = LexicalModel(LexicalConfig(bits=9), {}, {}, {})
    with pytest.raises(ConfigError, match="hashing config"):
        LexicalModel(CFG, shared.coef, shared.intercept, shared.stack, korean=other)
