"""Row counts of the real benchmark files (skipped when ../shared/data is absent)."""

from __future__ import annotations

import pytest

from guardkit.eval.datasets import load_dataset

pytestmark = pytest.mark.data

# the counts of the WildGuard paper / GuardReasoner packaging (SOURCE.txt files)
COUNTS = {
    "toxicchat": (2853, 362),
    "openai_mod": (1680, 522),
    "aegis": (359, 232),
    "simplesafetytests": (100, 100),
    "harmbench_prompt": (239, 239),
    "harmbench_response": (602, 273),
    "saferlhf": (2000, 1000),
    "beavertails": (3021, 1733),
    "xstest_resp_harm": (446, 78),
    "xstest_resp_refusal": (449, 178),
    "wgt_prompt": (1699, 754),
    "wgt_response": (1709, 284),
    "wgt_refusal": (1720, 563),
    "openai_mod_categories": (1680, 522),
    "xstest_safe": (250, 0),
    "wildjailbreak_benign": (250, 0),
    "korean_hate_speech": (471, 311),
    "apeach": (3770, 1922),
    "dktc": (3950, 3950),
}


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_real_row_counts(data_dir, name):
    ds = load_dataset(name, data_dir)
    assert (len(ds), ds.positives) == COUNTS[name]


def test_wildguardtest_has_1725_rows_and_both_splits(data_dir):
    from guardkit.eval.datasets import _wgt_rows

    _, rows = _wgt_rows(data_dir)
    assert len(rows) == 1725
    ds = load_dataset("wgt_prompt", data_dir)
    assert sum(ds.extras["adversarial"]) > 0 and not all(ds.extras["adversarial"])
