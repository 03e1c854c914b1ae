from __future__ import annotations

import pytest
from sklearn.metrics import average_precision_score, f1_score, precision_score, recall_score

from guardkit.eval.metrics import (
    binary_metrics,
    expected_calibration_error,
    fill_missing,
    reliability_bins,
)

GOLD = [True, True, True, False, False, False, True, False]
PRED = [True, False, None, False, True, None, True, False]


def test_fill_missing_predicts_the_opposite_of_gold():
    assert fill_missing(GOLD, PRED) == [True, False, False, False, True, True, True, False]


@pytest.mark.parametrize(
    ("gold", "pred"),
    [
        (GOLD, PRED),
        ([True, False, True, False], [True, True, True, True]),
        ([True, True, False], [None, None, None]),
        ([False, False, True], [False, False, False]),
    ],
)
def test_f1_precision_recall_match_sklearn(gold, pred):
    filled = fill_missing(gold, pred)
    m = binary_metrics(gold, pred)
    assert m.f1 == pytest.approx(100 * f1_score(gold, filled, zero_division=0))
    assert m.precision == pytest.approx(100 * precision_score(gold, filled, zero_division=0))
    assert m.recall == pytest.approx(100 * recall_score(gold, filled, zero_division=0))
    assert m.parse_errors == sum(p is None for p in pred)
    assert m.tp + m.fp + m.fn + m.tn == m.n == len(gold)


def test_parse_errors_count_as_wrong_by_hand():
    # gold T,T,F,F ; pred T,None,F,None -> filled T,F,F,T: tp=1 fn=1 fp=1 tn=1
    m = binary_metrics([True, True, False, False], [True, None, False, None])
    assert (m.tp, m.fn, m.fp, m.tn) == (1, 1, 1, 1)
    assert m.f1 == pytest.approx(50.0)
    assert m.parse_errors == 2
    assert m.false_positive_rate == pytest.approx(50.0)


def test_auprc_matches_sklearn_and_skips_unscored_items():
    gold = [True, False, True, False, True]
    scores = [0.9, 0.8, 0.3, 0.1, None]
    m = binary_metrics(gold, [True, True, False, False, None], scores)
    assert m.n_scored == 4
    assert m.auprc == pytest.approx(100 * average_precision_score(gold[:4], scores[:4]))


def test_ece_hand_computed():
    # bin [0.9,1.0]: scores 0.9, 0.95 -> mean 0.925, positives 1/2 -> |0.925-0.5| * 2/4
    # bin [0.1,0.2): scores 0.1, 0.1 -> mean 0.1, positives 0/2  -> |0.1-0| * 2/4
    ece = expected_calibration_error([True, False, False, False], [0.9, 0.95, 0.1, 0.1])
    assert ece == pytest.approx(0.5 * 0.425 + 0.5 * 0.1)


def test_ece_perfectly_calibrated_is_zero_and_score_one_goes_to_last_bin():
    assert expected_calibration_error([True, True], [1.0, 1.0]) == pytest.approx(0.0)
    bins = reliability_bins([True], [1.0])
    assert bins[-1].count == 1 and sum(b.count for b in bins) == 1


def test_oracle_f1_is_the_best_threshold_on_the_labels():
    gold = [True, True, False, False]
    scores = [0.6, 0.4, 0.3, 0.1]
    m = binary_metrics(gold, [True, False, False, False], scores)
    assert m.f1 == pytest.approx(100 * 2 / 3)
    assert m.oracle_f1 == pytest.approx(100.0)
    assert m.oracle_threshold == pytest.approx(0.4)


def test_no_scores_means_no_score_metrics():
    m = binary_metrics([True, False], [True, False])
    assert (m.auprc, m.ece, m.oracle_f1, m.n_scored) == (None, None, None, 0)


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError, match="2 gold labels but 1 predictions"):
        binary_metrics([True, False], [True])
