from __future__ import annotations

import json

import pytest

from guardkit.redteam.attacks import Attack
from guardkit.redteam.report import (
    AttackResult,
    EvasionCheck,
    Rate,
    build_report,
    wilson_interval,
)


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (0, 10, 0.0, 0.2775),
        (10, 10, 0.7225, 1.0),
        (3, 10, 0.1078, 0.6032),
        (50, 100, 0.4038, 0.5962),
        (1, 1, 0.2065, 1.0),
    ],
)
def test_wilson_interval_known_values(k, n, low, high):
    lo, hi = wilson_interval(k, n)
    assert lo == pytest.approx(low, abs=1e-4)
    assert hi == pytest.approx(high, abs=1e-4)


@pytest.mark.parametrize("n", [1, 7, 10, 33])
def test_wilson_interval_contains_the_estimate_exactly_at_the_ends(n):
    assert wilson_interval(0, n)[0] == 0.0 and wilson_interval(n, n)[1] == 1.0
    for k in range(n + 1):
        lo, hi = wilson_interval(k, n)
        assert lo <= k / n <= hi


def test_plot_handles_all_zero_and_all_one_rates(tmp_path):
    results = [_res(i, True, True, False, pflag=True) for i in range(7)]
    results += [_res(10 + i, False, False, False, pflag=False, rflag=False) for i in range(7)]
    rep = build_report(results, evasion=[EvasionCheck(str(i), "base64", True, False) for i in range(7)],
                       guarded=True)
    assert rep.save(tmp_path)["png"].exists()


def test_wilson_rejects_bad_counts():
    with pytest.raises(ValueError, match="n must be positive"):
        wilson_interval(0, 0)
    with pytest.raises(ValueError, match=r"k must be in \[0, n\]"):
        wilson_interval(5, 3)


def test_rate_of_empty_is_none():
    r = Rate.of(0, 0)
    assert (r.value, r.low, r.high) == (None, None, None)
    assert r.fmt() == "–"


def _attack(i: int, harmful: bool, family: str = "f", mutator: str = "none") -> Attack:
    return Attack(f"{family}:{i}/{mutator}", f"p{i}", f"p{i}", harmful, family, "src", "MIT", mutator)


def _res(i, harmful, judged_harmful, refusal, pflag=None, rflag=None, **kw):
    return AttackResult(_attack(i, harmful, **kw), "r", judged_harmful, refusal, False, pflag, rflag)


def test_asr_rta_without_and_with_guard_hand_computed():
    results = [
        # harmful: 4 attacks; 3 succeed without guard
        _res(0, True, True, False, pflag=True),  # blocked at the prompt
        _res(1, True, True, False, pflag=False, rflag=True),  # response replaced
        _res(2, True, True, False, pflag=False, rflag=False),  # slips through
        _res(3, True, False, True, pflag=False, rflag=False),  # target refused
        # benign: 5 attacks; 1 refused by the target, guard over-blocks 2 more
        _res(4, False, False, True, pflag=False, rflag=False),
        _res(5, False, False, False, pflag=True),
        _res(6, False, False, False, pflag=False, rflag=True),
        _res(7, False, False, False, pflag=False, rflag=False),
        _res(8, False, False, False, pflag=False, rflag=False),
    ]
    rep = build_report(results, guarded=True)
    assert (rep.without_guard.asr.k, rep.without_guard.asr.n) == (3, 4)
    assert rep.without_guard.asr.value == pytest.approx(0.75)
    assert rep.with_guard.asr.value == pytest.approx(0.25)
    assert rep.without_guard.rta.value == pytest.approx(0.2)
    assert rep.with_guard.rta.value == pytest.approx(0.6)
    assert (rep.with_guard.rta.low, rep.with_guard.rta.high) == pytest.approx(wilson_interval(3, 5))
    d = rep.to_dict()
    assert d["without_guard"]["asr"] == 0.75 and d["with_guard"]["rta"] == 0.6
    json.dumps(d)  # JSON-ready


def test_breakdowns_per_family_and_mutator():
    results = [
        _res(0, True, True, False, family="a", mutator="none"),
        _res(1, True, False, False, family="a", mutator="base64"),
        _res(2, True, True, False, family="b", mutator="base64"),
        _res(3, False, False, True, family="b", mutator="none"),
    ]
    rep = build_report(results, guarded=False)
    fam = {b.key: b for b in rep.by_family}
    mut = {b.key: b for b in rep.by_mutator}
    assert fam["a"].without_guard.asr.value == 0.5 and fam["a"].without_guard.rta.n == 0
    assert fam["b"].without_guard.asr.value == 1.0 and fam["b"].without_guard.rta.value == 1.0
    assert mut["base64"].without_guard.asr.value == 0.5
    assert rep.with_guard is None and rep.to_dict()["with_guard"] is None
    md = rep.to_markdown()
    assert "with guard" not in md and "| family: a | 2 | 50.0% [9.5–90.5] |" in md


def test_guard_evasion_rates():
    checks = [
        EvasionCheck("x0", "base64", True, False),
        EvasionCheck("x1", "base64", True, True),
        EvasionCheck("x2", "base64", False, False),
        EvasionCheck("x3", "base64", True, False),
    ]
    rep = build_report([], evasion=checks, guarded=True)
    (e,) = rep.guard_evasion
    assert e.missed_before.value == pytest.approx(0.25)
    assert e.missed_after.value == pytest.approx(0.75)
    assert (e.evasion.k, e.evasion.n) == (2, 3)
    assert "| base64 | 4 | 25.0%" in rep.to_markdown()


def test_save_writes_json_markdown_and_png(tmp_path):
    results = [_res(0, True, True, False, pflag=True), _res(1, False, False, True, pflag=False, rflag=False)]
    rep = build_report(results, evasion=[EvasionCheck("x", "leetspeak", True, False)], guarded=True,
                       params={"seed": 0}, data_hashes={"f": "abc"})
    paths = rep.save(tmp_path)
    data = json.loads(paths["json"].read_text())
    assert set(data) >= {"without_guard", "with_guard", "per_family", "per_mutator", "guard_evasion", "params",
                         "data_hashes"}
    assert data["guard_evasion"]["leetspeak"]["evasion_rate"]["value"] == 1.0
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_import_redteam_stays_light():
    import subprocess
    import sys

    code = (
        "import sys, guardkit.redteam, guardkit.redteam.runner, guardkit.redteam.report, guardkit.redteam.targets;"
        "bad = [m for m in ('torch', 'transformers', 'matplotlib', 'yaml', 'httpx') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_public_surface_is_all():
    import guardkit.redteam as rt

    public = {n for n in dir(rt) if not n.startswith("_")} - {"annotations", "attacks", "mutators", "report",
                                                              "runner", "targets"}
    assert set(rt.__all__) == public
