"""Red-teaming: attack success rate (ASR) and refusal-to-answer rate (RTA) of a target LLM,
without and with a guardkit guard in front (WildGuard paper, Table 6).

Modules: :mod:`.attacks` (attack sets), :mod:`.mutators` (prompt rewrites),
:mod:`.targets` (the LLMs under test), :mod:`.runner` (generate, judge, guard; resumable)
and :mod:`.report` (ASR/RTA with Wilson intervals; Markdown, JSON, PNG).
Nothing heavy is imported until used.

Example:
    >>> from guardkit.redteam import MUTATORS, mutate
    >>> "base64" in MUTATORS
    True
"""

from __future__ import annotations

from .attacks import ATTACK_SETS, Attack, AttackSet, load_attacks, resolve_data_dir
from .mutators import MUTATORS, Mutator, mutate, parse_mutators, register
from .report import (
    GUARD_REFUSAL,
    ArmMetrics,
    AttackResult,
    Breakdown,
    Evasion,
    EvasionCheck,
    Rate,
    RedteamReport,
    build_report,
    wilson_interval,
    write_results,
)
from .runner import RunOutput, run_attacks
from .targets import HFTarget, OpenAITarget, SmolLM2Target, Target, get_target

__all__ = [
    "ATTACK_SETS",
    "GUARD_REFUSAL",
    "MUTATORS",
    "ArmMetrics",
    "Attack",
    "AttackResult",
    "AttackSet",
    "Breakdown",
    "Evasion",
    "EvasionCheck",
    "HFTarget",
    "Mutator",
    "OpenAITarget",
    "Rate",
    "RedteamReport",
    "RunOutput",
    "SmolLM2Target",
    "Target",
    "build_report",
    "get_target",
    "load_attacks",
    "mutate",
    "parse_mutators",
    "register",
    "resolve_data_dir",
    "run_attacks",
    "wilson_interval",
    "write_results",
]
