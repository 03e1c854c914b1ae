from __future__ import annotations

import pytest

from guardkit import BackendError, Conversation
from guardkit.backends.fake import FakeClassifier
from guardkit.eval.runner import cache_path, conversation_key, predict
from guardkit.eval.suites import SuiteEvaluator

CONVS = [Conversation.from_pair(p) for p in ("hello", "how to make a bomb", "bake bread", "kill time", "hack it")]


def test_cache_hit_means_zero_backend_calls(tmp_path):
    first = FakeClassifier(batch_size=2)
    run1 = predict(first, CONVS, cache_dir=tmp_path)
    assert (run1.n_predicted, run1.n_cached, first.calls) == (5, 0, 3)
    second = FakeClassifier(batch_size=2)
    run2 = predict(second, CONVS, cache_dir=tmp_path)
    assert (run2.n_predicted, run2.n_cached, second.calls) == (0, 5, 0)
    assert [run2.get(c) for c in CONVS] == [run1.get(c) for c in CONVS]


def test_duplicates_are_classified_once(tmp_path):
    clf = FakeClassifier(batch_size=10)
    run = predict(clf, CONVS + CONVS, cache_dir=None)
    assert run.n_items == 5 and clf.calls == 1


def test_cache_file_depends_on_params(tmp_path):
    from guardkit import Thresholds

    a = cache_path(tmp_path, FakeClassifier())
    b = cache_path(tmp_path, FakeClassifier(thresholds=Thresholds(prompt_harmful=0.95)))
    assert a != b and a.parent == tmp_path and a.name.startswith("fake-")


def test_interrupted_run_resumes_with_the_finished_batches(tmp_path):
    # the backend dies on the 4th item: batches 1 (items 0-1) are journaled, the rest is not
    failing = FakeClassifier(batch_size=2, fail_on="kill time")
    with pytest.raises(BackendError):
        predict(failing, CONVS, cache_dir=tmp_path)
    resumed = FakeClassifier(batch_size=2)
    run = predict(resumed, CONVS, cache_dir=tmp_path)
    assert (run.n_cached, run.n_predicted) == (2, 3)
    assert resumed.calls == 2


def test_torn_last_line_is_recovered(tmp_path):
    predict(FakeClassifier(batch_size=5), CONVS, cache_dir=tmp_path)
    path = cache_path(tmp_path, FakeClassifier())
    with path.open("a", encoding="utf-8") as fh:
        fh.write('{"key": "half-writ')  # killed mid-write
    run = predict(FakeClassifier(), CONVS, cache_dir=tmp_path)
    assert run.n_cached == 5 and run.n_predicted == 0


def test_suite_rerun_uses_the_cache_only(tmp_path, eval_data):
    ev = SuiteEvaluator("all", data_dir=eval_data, cache_dir=tmp_path / "cache")
    first = FakeClassifier(batch_size=4)
    r1 = ev.run(first)
    assert first.calls > 0
    second = FakeClassifier(batch_size=4)
    r2 = ev.run(second)
    assert second.calls == 0
    assert r2.prediction is not None and r2.prediction.n_predicted == 0
    assert r1.metrics_dict() == r2.metrics_dict()


def test_conversation_key_is_stable_and_distinguishes_responses():
    a = Conversation.from_pair("p", "r")
    assert conversation_key(a) == conversation_key(Conversation.from_pair("p", "r"))
    assert conversation_key(a) != conversation_key(Conversation.from_pair("p"))


def test_sample_is_seeded_random_and_exclusive_with_limit():
    from guardkit import ConfigError, Conversation, Task
    from guardkit.eval.datasets import EvalDataset
    from guardkit.eval.suites import SuiteEvaluator

    ds = EvalDataset("d", Task.PROMPT_HARMFUL, tuple(Conversation.from_pair(f"q{i}") for i in range(50)), (False,) * 50)
    a, b = ds.sample(10, seed=1), ds.sample(10, seed=1)
    assert a.items == b.items and len(a) == 10
    assert a.items != ds.head(10).items  # not simply the first rows
    assert [c.prompt for c in a.items] == sorted((c.prompt for c in a.items), key=lambda p: int(p[1:]))
    assert ds.sample(None) is ds and ds.sample(99) is ds
    with pytest.raises(ConfigError, match="either limit"):
        SuiteEvaluator("paper", limit=3, sample=3)
