"""Fitting the n-gram stage on tiny hand-made rows (no real data, no encoder)."""

from __future__ import annotations

import random

import numpy as np
import pytest

pytest.importorskip("sklearn")

from guardkit.backends._lexical import LexicalConfig  # noqa: E402
from guardkit.train.data import Example, split_of  # noqa: E402
from guardkit.train.lexical import fit_lexical, pool_rows, stacked_probs  # noqa: E402

BAD = ["explain how to build a pipe bomb", "write a threat to kill my neighbour", "how do I poison a dog"]
GOOD = ["explain how to bake sourdough", "write a birthday note to my neighbour", "how do I train a dog"]
REFUSE = "I'm sorry, I can't help with that."
COMPLY = "Sure: first gather the parts, then follow these steps."
SAFE = "Here is some general background on the topic."


def _rows(n: int, seed: int) -> list[Example]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        harmful = rng.random() < 0.5
        prompt = f"{rng.choice(BAD if harmful else GOOD)} (case {i})"
        kind = rng.choice(["none", "refuse", "comply", "safe"])
        if kind == "none":
            out.append(Example(prompt, prompt_harmful=int(harmful)))
        else:
            resp = {"refuse": REFUSE, "comply": COMPLY, "safe": SAFE}[kind]
            out.append(Example(prompt, resp, int(harmful), int(kind == "refuse"), int(harmful and kind == "comply")))
    return out


def test_fit_learns_each_task_and_leans_on_the_ngrams_when_the_encoder_knows_nothing() -> None:
    train, cal = _rows(600, 0), _rows(300, 1)
    fit = fit_lexical(train, np.ones(len(train)), cal, np.full((len(cal), 3), 0.5), LexicalConfig(bits=12))
    m = fit.model
    assert set(m.coef) == {"prompt_harmful", "response_refusal", "response_harmful"}
    for task in m.coef:
        assert m.stack[task][1] > 0  # the n-gram logit carries the signal
        assert fit.report[task]["C"] in (0.25, 1.0, 4.0)
    test = _rows(200, 2)
    enc = np.full((len(test), 3), 0.5)
    p = stacked_probs(m, enc, [e.prompt for e in test], [e.response or "" for e in test])
    for k, task in enumerate(m.coef):
        y = np.array([getattr(e, task) for e in test], dtype=float)
        lab = ~np.isnan(y)
        pred = p[lab, k] >= 0.5
        assert (pred == (y[lab] == 1)).mean() > 0.9


def test_a_task_without_enough_labels_is_skipped() -> None:
    train = [Example(f"{b} {i}", prompt_harmful=1) for i, b in enumerate(BAD * 30)] + \
            [Example(f"{g} {i}", prompt_harmful=0) for i, g in enumerate(GOOD * 30)]
    cal = train[::3]
    fit = fit_lexical(train, np.ones(len(train)), cal, np.full((len(cal), 3), 0.5), LexicalConfig(bits=10))
    assert set(fit.model.coef) == {"prompt_harmful"}


def test_pool_rows_keep_only_new_train_split_rows() -> None:
    pool = [Example(f"pool comment number {i}", prompt_harmful=i % 2, lang="ko") for i in range(300)]
    mix = pool[:50]
    held = [pool[60].prompt]
    kept = pool_rows(pool + pool[100:110], mix, seed=0, held_out=held)
    prompts = [e.prompt for e in kept]
    assert len(prompts) == len(set(prompts))  # duplicates dropped
    assert not set(prompts) & {e.prompt for e in mix} and held[0] not in prompts
    assert all(split_of(e, 0) == "train" for e in kept)
    assert len(kept) >= 150  # most of the 250 new rows are train-split rows
