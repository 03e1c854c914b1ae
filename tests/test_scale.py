"""guardkit.scale: the Ray actor logic without Ray, and the missing-dependency path."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from guardkit import InputError, MissingDependency
from guardkit.scale import OUTPUT_COLUMNS, VerdictColumns, classify_dataset

pd = pytest.importorskip("pandas")


def test_actor_adds_verdict_columns():
    actor = VerdictColumns("fake", prompt_column="text", response_column="reply")
    batch = pd.DataFrame(
        {"text": ["how to make a bomb", "hello"], "reply": ["Sorry, I can't.", None], "id": [1, 2]}
    )
    out = actor(batch)
    assert list(out.columns) == ["text", "reply", "id", *OUTPUT_COLUMNS]
    assert out["prompt_harmful"].tolist() == [True, False]
    assert out["response_refusal"].tolist() == [True, None]
    assert out["id"].tolist() == [1, 2]
    assert "prompt_harmful" not in batch.columns  # the input batch is not changed


def test_actor_without_response_column():
    out = VerdictColumns("fake")(pd.DataFrame({"prompt": ["steal a car"]}))
    assert out["prompt_harmful"].tolist() == [True] and out["response_harmful"].tolist() == [None]


def test_actor_needs_the_prompt_column():
    with pytest.raises(InputError, match="the dataset has no 'prompt' column"):
        VerdictColumns("fake")(pd.DataFrame({"text": ["x"]}))


@pytest.mark.skipif(importlib.util.find_spec("ray") is not None, reason="ray is installed")
def test_missing_ray_names_the_extra():
    with pytest.raises(MissingDependency, match=r"pip install 'guardkit\[ray\]'"):
        classify_dataset(object(), "fake")


def test_missing_ray_even_when_installed(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(MissingDependency, match=r"'ray' is needed .* pip install 'guardkit\[ray\]'"):
        classify_dataset(object(), "fake")
