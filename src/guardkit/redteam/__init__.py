"""Red-teaming: attack success rate (ASR) and refusal-to-answer rate (RTA) of a target LLM,
without and with a guardkit guard in front (WildGuard paper, Table 6).

Example:
    >>> from guardkit.redteam import MUTATORS, mutate
    >>> "base64" in MUTATORS
    True
"""

from __future__ import annotations

from .attacks import ATTACK_SETS, Attack, AttackSet, load_attacks, resolve_data_dir
from .mutators import MUTATORS, Mutator, mutate, parse_mutators

__all__ = [
    "ATTACK_SETS",
    "MUTATORS",
    "Attack",
    "AttackSet",
    "Mutator",
    "load_attacks",
    "mutate",
    "parse_mutators",
    "resolve_data_dir",
]
