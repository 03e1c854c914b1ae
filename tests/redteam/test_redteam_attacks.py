from __future__ import annotations

import pytest

from guardkit import ConfigError, DatasetError
from guardkit.redteam.attacks import load_attacks, resolve_data_dir

pytestmark = pytest.mark.data


@pytest.mark.parametrize("name", ["wildjailbreak", "harmful", "templates"])
def test_sets_load_with_limit_and_seed(data_dir, name):
    a = load_attacks(name, data_dir, limit=5, seed=3)
    b = load_attacks(name, data_dir, limit=5, seed=3)
    assert a == b  # seeded sample
    harmful = [x for x in a.attacks if x.harmful]
    benign = [x for x in a.attacks if not x.harmful]
    assert len(harmful) == 5
    assert len(benign) == (0 if name == "harmful" else 5)
    assert all(x.mutator == "none" and x.prompt == x.request and x.license and x.source for x in a.attacks)
    assert all(len(h) == 64 for h in a.data_hashes.values())
    assert len({x.id for x in a.attacks}) == len(a.attacks)


def test_different_seeds_sample_differently(data_dir):
    ids = {load_attacks("wildjailbreak", data_dir, limit=5, seed=s).attacks for s in range(3)}
    assert len(ids) > 1


def test_wildjailbreak_full_sizes(data_dir):
    s = load_attacks("wildjailbreak", data_dir)
    assert sum(a.harmful for a in s.attacks) == 2000 and sum(not a.harmful for a in s.attacks) == 250
    assert set(s.data_hashes) == {"eval/wildjailbreak-eval/harmful.jsonl", "eval/wildjailbreak-eval/benign.jsonl"}


def test_templates_fill_the_request_into_the_template(data_dir):
    s = load_attacks("templates", data_dir, limit=20, seed=0)
    assert {a.family for a in s.attacks} <= {"template:pyrit", "template:dan"}
    assert not any("{{ prompt }}" in a.prompt or "{prompt}" in a.prompt for a in s.attacks)
    assert not any("pliny" in a.source for a in s.attacks)
    assert all(" + train/" in a.source for a in s.attacks)


def test_expand_applies_each_mutator(data_dir):
    s = load_attacks("harmful", data_dir, limit=2, seed=0)
    ex = s.expand(["none", "base64"], seed=0)
    assert [a.mutator for a in ex] == ["none", "base64", "none", "base64"]
    assert ex[1].request == ex[0].request and ex[1].prompt != ex[0].prompt
    assert ex[1].id == ex[0].id.replace("/none", "/base64")


def test_unknown_set_and_bad_limit(data_dir):
    with pytest.raises(ConfigError, match="unknown attack set 'x'"):
        load_attacks("x", data_dir)
    with pytest.raises(ConfigError, match="limit must be a positive integer"):
        load_attacks("harmful", data_dir, limit=0)


def test_missing_file_names_it(tmp_path):
    (tmp_path / "train/advbench").mkdir(parents=True)
    with pytest.raises(DatasetError, match=r"train/advbench/harmful_behaviors.csv' is missing"):
        load_attacks("harmful", tmp_path)


def test_data_dir_from_env(monkeypatch, tmp_path):
    monkeypatch.setenv("GUARDKIT_DATA_DIR", str(tmp_path))
    assert resolve_data_dir() == tmp_path
    assert resolve_data_dir(tmp_path / ".") == tmp_path / "."
