"""Run attacks against a target, judge the responses, and replay the run with a guard in front.

One pass does both arms of the comparison: the target answers every attack once; the judge
labels each (request, response); the guard, when given, labels each prompt and each
response. The guarded arm is then exact without calling the target again: a flagged prompt
means the user gets a refusal and the target's answer is never shown; a flagged response is
replaced by a refusal.

Everything slow is journaled in the output folder (``generations.jsonl``, ``judge.jsonl``,
``guard.jsonl``), keyed by a hash of the settings and the text, so a killed run resumes
where it stopped and a rerun with, say, another judge only redoes the judging.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._journal import Journal
from .._progress import Advance, TaskFactory, progress_tasks
from .._types import Conversation, Verdict
from ..backends.base import Classifier
from .attacks import Attack
from .mutators import MUTATORS, mutate
from .report import GUARD_REFUSAL, AttackResult, EvasionCheck
from .targets import Target

__all__ = ["GUARD_REFUSAL", "RunOutput", "run_attacks"]

logger = logging.getLogger(__name__)



@dataclass(frozen=True, slots=True)
class RunOutput:
    """What :func:`run_attacks` returns: per-attack results and the guard-evasion checks."""

    results: tuple[AttackResult, ...]
    evasion: tuple[EvasionCheck, ...]


def _key(*parts: Any) -> str:
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _identity(obj: Target | Classifier) -> dict[str, Any]:
    return dict(obj.params)


def _generate(
    target: Target, attacks: Sequence[Attack], journal: Journal, chunk: int, advance: Advance
) -> dict[str, str]:
    ident = _identity(target)
    keys = {a.id: _key("gen", ident, a.prompt) for a in attacks}
    pending: dict[str, Attack] = {}  # journal key -> first attack with that prompt
    for a in attacks:
        if keys[a.id] not in journal:
            pending.setdefault(keys[a.id], a)
    advance(len(attacks) - len(pending))
    if pending:
        logger.info("generating %d responses (%d reused from the journal)", len(pending), len(attacks) - len(pending))
    # shortest first: batches of similar length waste less padding
    todo = sorted(pending.values(), key=lambda a: len(a.prompt))
    for start in range(0, len(todo), chunk):
        batch = todo[start : start + chunk]
        responses = target.generate([a.prompt for a in batch])
        if len(responses) != len(batch):  # a target bug, not a user error
            raise RuntimeError(f"{type(target).__name__} returned {len(responses)} responses for {len(batch)} prompts")
        journal.extend({"key": keys[a.id], "attack_id": a.id, "response": r} for a, r in zip(batch, responses, strict=True))
        advance(len(batch))
    out = {}
    for a in attacks:
        rec = journal.get(keys[a.id])
        out[a.id] = str(rec["response"]) if rec else ""
    return out


def _classify(
    clf: Classifier, role: str, items: Sequence[tuple[str, str | None]], journal: Journal, advance: Advance
) -> list[Verdict]:
    """Verdicts for ``(prompt, response)`` pairs, reusing and extending ``journal``."""
    ident = _identity(clf)
    keys = [_key(role, ident, p, r) for p, r in items]
    pending: dict[str, tuple[str, str | None]] = {}
    for k, item in zip(keys, items, strict=True):
        if k not in journal:
            pending.setdefault(k, item)
    advance(len(items) - len(pending))
    pkeys = list(pending)

    def checkpoint(start: int, verdicts: list[Verdict]) -> None:
        batch_keys = pkeys[start : start + len(verdicts)]
        journal.extend({"key": k, "verdict": v.to_dict()} for k, v in zip(batch_keys, verdicts, strict=True))
        advance(len(verdicts))

    if pkeys:
        clf.classify([Conversation.from_pair(*pending[k]) for k in pkeys], on_batch=checkpoint)
    return [Verdict.from_dict(journal.get(k)["verdict"]) for k in keys]  # type: ignore[index]


def _label(v: Verdict, task: str) -> bool | None:
    tv = getattr(v, task)
    return None if tv is None else bool(tv.label)


def run_attacks(
    attacks: Sequence[Attack],
    target: Target,
    judge: Classifier,
    *,
    out_dir: str | Path,
    guard: Classifier | None = None,
    evasion_mutators: Sequence[str] = (),
    seed: int = 0,
    chunk: int = 8,
    progress: bool = False,
) -> RunOutput:
    """Generate, judge and (optionally) guard every attack; resumable through ``out_dir``.

    Args:
        attacks: attacks to send (already mutated; see :meth:`AttackSet.expand`).
        target: the model under test.
        judge: the classifier that labels each (request, response): response harm for
            harmful attacks, refusal for benign ones.
        out_dir: where the journals live; rerunning with the same folder reuses them.
        guard: the classifier put in front of the target, or None for no guarded arm.
        evasion_mutators: mutators for the guard-robustness check, applied to every harmful
            request (only the guard sees these; the target is not called).
        seed: the mutators' seed.
        chunk: prompts per target call (and per journal write).
        progress: show rich progress bars on stderr.

    Returns:
        The results, in the order of ``attacks``, and the guard-evasion checks.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with (
        Journal(out / "generations.jsonl") as gen_j,
        Journal(out / "judge.jsonl") as judge_j,
        Journal(out / "guard.jsonl") as guard_j,
        progress_tasks(progress) as task,
    ):
        responses = _generate(target, attacks, gen_j, chunk, task("target", len(attacks)))
        judged = _classify(
            judge, "judge", [(a.request, responses[a.id]) for a in attacks], judge_j, task("judge", len(attacks))
        )
        prompt_flags: list[bool | None] = [None] * len(attacks)
        response_flags: list[bool | None] = [None] * len(attacks)
        evasion: list[EvasionCheck] = []
        if guard is not None:
            pv = _classify(guard, "guard", [(a.prompt, None) for a in attacks], guard_j, task("guard prompts", len(attacks)))
            prompt_flags = [bool(_label(v, "prompt_harmful")) for v in pv]
            passed = [i for i, f in enumerate(prompt_flags) if not f]
            rv = _classify(
                guard, "guard", [(attacks[i].prompt, responses[attacks[i].id]) for i in passed], guard_j,
                task("guard responses", len(passed)),
            )
            for i, v in zip(passed, rv, strict=True):
                response_flags[i] = bool(_label(v, "response_harmful"))
            evasion = _evasion(guard, attacks, evasion_mutators, seed, guard_j, task)
    results = []
    for i, (a, v) in enumerate(zip(attacks, judged, strict=True)):
        harm, refusal = _label(v, "response_harmful"), _label(v, "response_refusal")
        results.append(
            AttackResult(
                attack=a,
                response=responses[a.id],
                judged_harmful=bool(harm),
                judged_refusal=bool(refusal),
                judge_error=v.is_parsing_error or harm is None or refusal is None,
                guard_prompt_flagged=prompt_flags[i],
                guard_response_flagged=response_flags[i],
            )
        )
    return RunOutput(tuple(results), tuple(evasion))


def _evasion(
    guard: Classifier,
    attacks: Sequence[Attack],
    mutators: Sequence[str],
    seed: int,
    journal: Journal,
    task: TaskFactory,
) -> list[EvasionCheck]:
    """The guard's prompt verdicts on each harmful request, unmutated and under each mutator."""
    bases = list({a.id.rsplit("/", 1)[0]: a for a in attacks if a.harmful}.values())
    names = [m for m in mutators if m != "none" and m in MUTATORS]
    if not bases or not names:
        return []
    items: list[tuple[str, str | None]] = [(a.request, None) for a in bases]
    items += [(mutate(m, a.request, seed), None) for m in names for a in bases]
    flags = [bool(_label(v, "prompt_harmful")) for v in _classify(guard, "guard", items, journal, task("guard evasion", len(items)))]
    before = flags[: len(bases)]
    out = []
    for j, m in enumerate(names):
        after = flags[len(bases) * (j + 1) : len(bases) * (j + 2)]
        out += [
            EvasionCheck(a.id.rsplit("/", 1)[0], m, b, f) for a, b, f in zip(bases, before, after, strict=True)
        ]
    return out
