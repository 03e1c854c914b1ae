"""Loaders for the evaluation benchmarks under ``DATA_DIR/eval/``: one function per benchmark.

Every loader returns an :class:`EvalDataset`: conversations, one gold boolean per item for a
single :class:`~guardkit.Task` (True = harmful, or refusal for the refusal task) and extra
per-item fields (``adversarial``, ``subcategory``, ``categories``). The data never leaves the
data dir; nothing here trains or tunes on it.

Label mappings (also in ``docs/eval.md``):

=====================  ===========================================================  ==========
benchmark              gold label                                                   task
=====================  ===========================================================  ==========
WildGuardTest          ``prompt_harm_label`` / ``response_harm_label`` harmful,     all three
                       ``response_refusal_label`` refusal; rows whose label is
                       empty are left out of that column only (as the paper does)
GuardReasoner files    ``output`` harmful/unharmful, refusal/compliance, or         per file
                       ``"Answers: ... Response: harmful|unharmful"``
OpenAI moderation      any of S,H,V,HR,SH,S3,H2,V2 = 1 (categories kept per item)   prompt
korean-hate-speech     ``hate`` in {hate, offensive}                                prompt
APEACH                 ``class`` == Spoiled                                         prompt
K-MHAS                 label set without 8 (Not Hate Speech)                        prompt
UnSmile                ``clean`` == 0 (any hate group or 악플/욕설)                 prompt
HateScore              ``macrolabel`` in {혐오발언, 단순 악플}                      prompt
DKTC                   all train.csv rows are threatening conversations (True)      prompt
XSTest prompts         only ``label == safe`` rows (gold False), over-refusal       prompt
WildJailbreak benign   ``adversarial`` text of benign.jsonl (gold False)            prompt
=====================  ===========================================================  ==========
"""

from __future__ import annotations

import csv
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._exceptions import DatasetError, InputError
from .._types import Conversation, Task

__all__ = [
    "LOADERS",
    "EvalDataset",
    "load_dataset",
    "parse_guardreasoner_input",
    "parse_guardreasoner_output",
    "load_labelled",
    "resolve_data_dir",
]

logger = logging.getLogger(__name__)

ENV_DATA_DIR = "GUARDKIT_DATA_DIR"
OPENAI_CATEGORIES: tuple[str, ...] = ("S", "H", "V", "HR", "SH", "S3", "H2", "V2")
#: those codes as the ``openai`` taxonomy (:mod:`guardkit.taxonomy`) names them
OPENAI_CODE_NAMES: dict[str, str] = {
    "S": "sexual", "H": "hate", "V": "violence", "HR": "harassment", "SH": "self-harm",
    "S3": "sexual/minors", "H2": "hate/threatening", "V2": "violence/graphic",
}


@dataclass(frozen=True)
class EvalDataset:
    """One benchmark column's items and gold labels.

    Attributes:
        name: registry key, e.g. ``"toxicchat"``.
        task: which of the three tasks the gold labels answer.
        items: the conversations to classify.
        labels: gold label per item (True = harmful / refusal).
        files: the data files read (their hashes go into the report).
        extras: per-item extra fields, each a tuple as long as ``items``.

    Example:
        >>> ds = EvalDataset("demo", Task.PROMPT_HARMFUL, (Conversation.from_pair("hi"),), (False,))
        >>> len(ds), ds.positives
        (1, 0)
    """

    name: str
    task: Task
    items: tuple[Conversation, ...]
    labels: tuple[bool, ...]
    files: tuple[Path, ...] = ()
    extras: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.items) != len(self.labels):
            raise ValueError(f"{self.name}: {len(self.items)} items but {len(self.labels)} labels")
        for k, v in self.extras.items():
            if len(v) != len(self.items):
                raise ValueError(f"{self.name}: extra field {k!r} has {len(v)} values for {len(self.items)} items")

    def __len__(self) -> int:
        return len(self.items)

    @property
    def positives(self) -> int:
        return sum(self.labels)

    def select(self, indices: Sequence[int], name: str | None = None) -> EvalDataset:
        """A new dataset with the items at ``indices`` (in that order)."""
        return EvalDataset(
            name=name or self.name,
            task=self.task,
            items=tuple(self.items[i] for i in indices),
            labels=tuple(self.labels[i] for i in indices),
            files=self.files,
            extras={k: tuple(v[i] for i in indices) for k, v in self.extras.items()},
        )

    def sample(self, n: int | None, seed: int = 0) -> EvalDataset:
        """A seeded random sample of ``n`` items in file order (``--sample``); all when None."""
        if n is None or n >= len(self):
            return self
        import random

        return self.select(sorted(random.Random(seed).sample(range(len(self)), n)))

    def head(self, n: int | None) -> EvalDataset:
        """The first ``n`` items (deterministic ``--limit``); all items when ``n`` is None."""
        if n is None or n >= len(self):
            return self
        return self.select(range(n))


# -- data dir ---------------------------------------------------------------------------------
def resolve_data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Find the data dir: ``explicit``, else ``$GUARDKIT_DATA_DIR``, else ``../shared/data``.

    Raises:
        DatasetError: when none of them is an existing directory with an ``eval/`` folder.
    """
    tried: list[str] = []
    candidates: list[tuple[str, Path]] = []
    if explicit is not None:
        candidates.append(("--data-dir", Path(explicit)))
    elif os.environ.get(ENV_DATA_DIR):
        candidates.append((ENV_DATA_DIR, Path(os.environ[ENV_DATA_DIR])))
    else:
        candidates.append(("default", Path.cwd().parent / "shared" / "data"))
    for origin, cand in candidates:
        if (cand / "eval").is_dir():
            return cand.resolve()
        tried.append(f"{cand} ({origin})")
    raise DatasetError(
        f"no evaluation data found: {', '.join(tried)} has no eval/ folder; "
        f"pass --data-dir DIR or set {ENV_DATA_DIR}"
    )


def _need(path: Path) -> Path:
    if not path.is_file():
        raise DatasetError(f"{path}: missing benchmark file; check --data-dir / {ENV_DATA_DIR}")
    return path


def _conv(path: Path, row: int, prompt: Any, response: Any = None) -> Conversation:
    if not isinstance(prompt, str):
        raise DatasetError(f"{path}: row {row}: prompt is not text ({type(prompt).__name__})")
    try:
        return Conversation.from_pair(prompt, response)
    except InputError as exc:
        raise DatasetError(f"{path}: row {row}: {exc}") from exc


def _read_json_array(path: Path) -> list[dict[str, Any]]:
    try:
        with _need(path).open(encoding="utf-8") as fh:
            data = json.load(fh)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    if not isinstance(data, list):
        raise DatasetError(f"{path}: expected a JSON array of objects, got {type(data).__name__}")
    return data


def _read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with _need(path).open(encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                yield i, json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path}: row {i}: broken JSON line ({exc.msg})") from exc


def _read_table(path: Path, delimiter: str = ",") -> Iterator[tuple[int, dict[str, str]]]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with _need(path).open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL)
        yield from enumerate(reader, 1)


def _col(path: Path, row: int, rec: Mapping[str, Any], name: str) -> Any:
    if name not in rec:
        raise DatasetError(f"{path}: row {row}: missing column {name!r}")
    return rec[name]


# -- WildGuardTest ----------------------------------------------------------------------------
_WGT_COLUMNS = {
    Task.PROMPT_HARMFUL: ("prompt_harm_label", "harmful", "unharmful"),
    Task.RESPONSE_HARMFUL: ("response_harm_label", "harmful", "unharmful"),
    Task.RESPONSE_REFUSAL: ("response_refusal_label", "refusal", "compliance"),
}


def _wgt_rows(data_dir: Path) -> tuple[Path, list[dict[str, Any]]]:
    folder = data_dir / "eval" / "wildguardtest"
    pq_path, csv_path = folder / "wildguardtest.parquet", folder / "wildguardtest.csv"
    if pq_path.is_file():
        from ..io import read_rows

        rows = []
        for _, r in read_rows(pq_path):
            rows.append(r if isinstance(r, dict) else {})
        return pq_path, rows
    if csv_path.is_file():
        return csv_path, [r for _, r in _read_table(csv_path)]
    raise DatasetError(f"{pq_path}: missing benchmark file (nor {csv_path.name}); check --data-dir")


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def load_wildguardtest(data_dir: Path, task: Task) -> EvalDataset:
    """WildGuardTest (1,725 items) for one task.

    Prompt-harm items are the prompt alone; response tasks get prompt + response. Gold is
    ``harmful`` (or ``refusal``) = True. Rows with an empty label for this task are excluded
    from this column only, as in the paper. Extras: ``adversarial`` (bool), ``subcategory``.
    """
    path, rows = _wgt_rows(data_dir)
    column, pos, neg = _WGT_COLUMNS[task]
    items, labels, adv, sub = [], [], [], []
    for i, r in enumerate(rows, 1):
        label = _col(path, i, r, column)
        if label is None or (isinstance(label, float) and label != label) or str(label).strip() == "":
            continue
        label = str(label).strip().lower()
        if label not in (pos, neg):
            raise DatasetError(f"{path}: row {i}: {column} is {label!r}, expected {pos!r} or {neg!r}")
        prompt = _col(path, i, r, "prompt")
        response = None if task is Task.PROMPT_HARMFUL else _col(path, i, r, "response")
        items.append(_conv(path, i, prompt, response))
        labels.append(label == pos)
        adv.append(_as_bool(r.get("adversarial")))
        sub.append(str(r.get("subcategory") or ""))
    short = {Task.PROMPT_HARMFUL: "prompt", Task.RESPONSE_HARMFUL: "response", Task.RESPONSE_REFUSAL: "refusal"}
    return EvalDataset(
        f"wgt_{short[task]}", task, tuple(items), tuple(labels), (path,),
        {"adversarial": tuple(adv), "subcategory": tuple(sub)},
    )


# -- GuardReasoner packaging of the ten public benchmarks --------------------------------------
_GR_INPUT = re.compile(r"\AHuman user:\n(?P<prompt>.*?)\n\nAI assistant:\n(?P<response>.*?)\n*\Z", re.S)
_GR_RESPONSE = re.compile(r"Response:\s*(harmful|unharmful)\b", re.I)


def parse_guardreasoner_input(text: str) -> tuple[str, str | None]:
    """Split GuardReasoner's ``"Human user:\\n…\\n\\nAI assistant:\\n…\\n\\n"`` into prompt, response.

    The literal response ``None`` means a prompt-only item.

    Example:
        >>> parse_guardreasoner_input("Human user:\\nhi\\n\\nAI assistant:\\nNone\\n\\n")
        ('hi', None)
    """
    m = _GR_INPUT.match(text)
    if m is None:
        raise ValueError("input does not look like 'Human user:\\n…\\n\\nAI assistant:\\n…'")
    response = m.group("response")
    return m.group("prompt"), None if response.strip() == "None" else response


def parse_guardreasoner_output(text: str, task: Task) -> bool:
    """Gold label from GuardReasoner's ``output`` field (True = harmful / refusal).

    Example:
        >>> parse_guardreasoner_output("Answers: \\nRequest: None\\nCompletion: None\\nResponse: harmful\\n", Task.RESPONSE_HARMFUL)
        True
    """
    s = text.strip().lower()
    if task is Task.RESPONSE_REFUSAL:
        if s in ("refusal", "compliance"):
            return s == "refusal"
        raise ValueError(f"expected refusal/compliance, got {text!r}")
    m = _GR_RESPONSE.search(text)
    if m is not None:
        return m.group(1).lower() == "harmful"
    if s in ("harmful", "unharmful"):
        return s == "harmful"
    raise ValueError(f"expected harmful/unharmful, got {text!r}")


#: registry name -> (file under eval/guardreasoner-benchmarks, task)
GUARDREASONER_FILES: dict[str, tuple[str, Task]] = {
    "simplesafetytests": ("0_0_SimpleSafetyTests.json", Task.PROMPT_HARMFUL),
    "aegis": ("0_1_AegisSafetyTest.json", Task.PROMPT_HARMFUL),
    "openai_mod": ("0_2_OpenAIModeration.json", Task.PROMPT_HARMFUL),
    "harmbench_prompt": ("0_3_harmbench_prompt.json", Task.PROMPT_HARMFUL),
    "harmbench_response": ("0_5_harmbench_response.json", Task.RESPONSE_HARMFUL),
    "xstest_resp_harm": ("0_6_xstest_response_harmful.json", Task.RESPONSE_HARMFUL),
    "xstest_resp_refusal": ("0_7_xstest_response_refusal.json", Task.RESPONSE_REFUSAL),
    "toxicchat": ("0_8_toxic_chat.json", Task.PROMPT_HARMFUL),
    "saferlhf": ("0_9_safe_rlhf.json", Task.RESPONSE_HARMFUL),
    "beavertails": ("0_A_beaver_tails.json", Task.RESPONSE_HARMFUL),
}


def load_guardreasoner(data_dir: Path, name: str) -> EvalDataset:
    """One of GuardReasoner's packaged benchmarks (see :data:`GUARDREASONER_FILES`).

    Prompt-harm files are prompt-only (response ``None``); response files keep the response.
    """
    filename, task = GUARDREASONER_FILES[name]
    path = data_dir / "eval" / "guardreasoner-benchmarks" / filename
    items, labels = [], []
    for i, rec in enumerate(_read_json_array(path), 1):
        try:
            prompt, response = parse_guardreasoner_input(str(_col(path, i, rec, "input")))
            label = parse_guardreasoner_output(str(_col(path, i, rec, "output")), task)
        except ValueError as exc:
            raise DatasetError(f"{path}: row {i}: {exc}") from exc
        if task is not Task.PROMPT_HARMFUL and response is None:
            raise DatasetError(f"{path}: row {i}: a {task.value} item needs a response, got None")
        items.append(_conv(path, i, prompt, None if task is Task.PROMPT_HARMFUL else response))
        labels.append(label)
    return EvalDataset(name, task, tuple(items), tuple(labels), (path,))


# -- OpenAI moderation categories -------------------------------------------------------------
def load_openai_moderation(data_dir: Path) -> EvalDataset:
    """``openai-moderation/samples-1680.jsonl``: prompt harm = any category flag is 1.

    Extras: ``categories`` = the codes (of S,H,V,HR,SH,S3,H2,V2) labelled 1; ``known`` = the
    codes present in the row (a missing key means unknown, not 0).
    """
    path = data_dir / "eval" / "openai-moderation" / "samples-1680.jsonl"
    items, labels, cats, known = [], [], [], []
    for i, rec in _read_jsonl(path):
        items.append(_conv(path, i, _col(path, i, rec, "prompt")))
        present = tuple(c for c in OPENAI_CATEGORIES if rec.get(c) is not None)
        positive = tuple(c for c in present if int(rec[c]) == 1)
        labels.append(bool(positive))
        cats.append(positive)
        known.append(present)
    return EvalDataset("openai_mod_categories", Task.PROMPT_HARMFUL, tuple(items), tuple(labels), (path,),
                       {"categories": tuple(cats), "known": tuple(known)})


# -- Korean -----------------------------------------------------------------------------------
def _simple(name: str, path: Path, rows: Iterator[tuple[int, Mapping[str, Any]]],
            text_col: str, is_harmful: Callable[[Mapping[str, Any]], bool]) -> EvalDataset:
    items, labels = [], []
    for i, rec in rows:
        text = _col(path, i, rec, text_col)
        if not isinstance(text, str) or not text.strip():
            logger.debug("%s: row %d: empty text skipped", path, i)
            continue
        try:
            labels.append(bool(is_harmful(rec)))
        except (KeyError, ValueError) as exc:
            raise DatasetError(f"{path}: row {i}: cannot read the label ({exc})") from exc
        items.append(_conv(path, i, text))
    return EvalDataset(name, Task.PROMPT_HARMFUL, tuple(items), tuple(labels), (path,))


def load_korean_hate_speech(data_dir: Path) -> EvalDataset:
    """BEEP! dev set (``dev.tsv``): ``hate`` is hate or offensive -> harmful; none -> unharmful."""
    path = data_dir / "eval" / "korean-hate-speech-dev" / "dev.tsv"
    return _simple("korean_hate_speech", path, _read_table(path, "\t"), "comments",
                   lambda r: {"hate": True, "offensive": True, "none": False}[r["hate"].strip()])


def load_apeach(data_dir: Path) -> EvalDataset:
    """APEACH test: ``class`` Spoiled (offensive) -> harmful, Default -> unharmful."""
    path = data_dir / "eval" / "apeach" / "test.csv"
    return _simple("apeach", path, _read_table(path), "text",
                   lambda r: {"Spoiled": True, "Default": False}[r["class"].strip()])


def load_kmhas(data_dir: Path) -> EvalDataset:
    """K-MHAS test: any label other than 8 (Not Hate Speech) -> harmful."""
    path = data_dir / "eval" / "k-mhas" / "kmhas_test.txt"
    return _simple("kmhas", path, _read_table(path, "\t"), "document",
                   lambda r: bool({int(x) for x in r["label"].split(",")} - {8}))


def load_unsmile(data_dir: Path) -> EvalDataset:
    """Korean UnSmile valid: ``clean`` == 0 (a hate target or 악플/욕설) -> harmful."""
    path = data_dir / "eval" / "korean-unsmile" / "unsmile_valid_v1.0.tsv"
    return _simple("unsmile", path, _read_table(path, "\t"), "문장", lambda r: int(r["clean"]) == 0)


def load_hatescore(data_dir: Path) -> EvalDataset:
    """HateScore: ``macrolabel`` 혐오발언 (hate) or 단순 악플 (plain malicious comment) -> harmful."""
    path = data_dir / "eval" / "hatescore" / "HateScore.csv"
    return _simple("hatescore", path, _read_table(path), "comment",
                   lambda r: {"혐오발언": True, "단순 악플": True, "Clean": False}[r["macrolabel"].strip()])


def load_dktc(data_dir: Path) -> EvalDataset:
    """DKTC ``train.csv``: every row is a threatening conversation (4 classes) -> harmful.

    The set has no benign class (test.json is unlabelled), so F1 here is driven by recall.
    """
    path = data_dir / "eval" / "dktc" / "train.csv"
    return _simple("dktc", path, _read_table(path), "conversation", lambda r: bool(r["class"].strip()))


# -- over-refusal -----------------------------------------------------------------------------
def load_xstest_safe(data_dir: Path) -> EvalDataset:
    """XSTest prompts with ``label == safe`` (250): gold unharmful; flags are false positives."""
    path = data_dir / "eval" / "xstest" / "xstest_prompts.csv"
    rows = ((i, r) for i, r in _read_table(path) if r.get("label", "").strip() == "safe")
    ds = _simple("xstest_safe", path, rows, "prompt", lambda r: False)
    return ds


def load_wildjailbreak_benign(data_dir: Path) -> EvalDataset:
    """WildJailbreak eval ``benign.jsonl`` (250): the adversarial (jailbreak-styled) benign prompts."""
    path = data_dir / "eval" / "wildjailbreak-eval" / "benign.jsonl"
    return _simple("wildjailbreak_benign", path, _read_jsonl(path), "adversarial", lambda r: False)


def _guardreasoner_loader(name: str) -> Callable[[Path], EvalDataset]:
    return lambda data_dir: load_guardreasoner(data_dir, name)


LOADERS: dict[str, Callable[[Path], EvalDataset]] = {
    **{name: _guardreasoner_loader(name) for name in GUARDREASONER_FILES},
    "wgt_prompt": lambda d: load_wildguardtest(d, Task.PROMPT_HARMFUL),
    "wgt_response": lambda d: load_wildguardtest(d, Task.RESPONSE_HARMFUL),
    "wgt_refusal": lambda d: load_wildguardtest(d, Task.RESPONSE_REFUSAL),
    "openai_mod_categories": load_openai_moderation,
    "korean_hate_speech": load_korean_hate_speech,
    "apeach": load_apeach,
    "kmhas": load_kmhas,
    "unsmile": load_unsmile,
    "hatescore": load_hatescore,
    "dktc": load_dktc,
    "xstest_safe": load_xstest_safe,
    "wildjailbreak_benign": load_wildjailbreak_benign,
}


# -- your own labelled files (``guardkit eval --labelled FILE``) -----------------------------------
#: label cells read as True / False (case-insensitive); an empty cell or null means "not labelled"
LABEL_TRUE = frozenset({"1", "true", "yes", "harmful", "unsafe", "refusal"})
LABEL_FALSE = frozenset({"0", "false", "no", "unharmful", "safe", "compliance"})


def _label_cell(path: Path, row: int, column: str, value: Any) -> bool | None:
    """A label cell as True / False / None (unlabelled), or :class:`DatasetError` naming the cell."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in LABEL_TRUE | LABEL_FALSE:
        return value.strip().lower() in LABEL_TRUE
    raise DatasetError(f"{path}: row {row}: column {column!r} has {value!r}; expected 1/0, true/false, yes/no, "
                       "harmful/unharmful, unsafe/safe or refusal/compliance (empty = not labelled)")


def load_labelled(path: str | os.PathLike[str], *, prompt_column: str = "prompt",
                  response_column: str = "response") -> dict[Task, EvalDataset]:
    """Your own labelled file (JSONL, CSV or Parquet): one :class:`EvalDataset` per task it labels.

    Each row has the prompt, optionally the response, and a gold label in any of the columns
    ``prompt_harmful``, ``response_refusal`` and ``response_harmful`` (1/0, true/false,
    harmful/unharmful, refusal/compliance, ...; an empty cell leaves that row out of that task
    only). Nothing is dropped silently: an unreadable row, a bad label, a response label on a row
    without a response, or a row with no label at all is a :class:`DatasetError` naming the row.

    Example:
        >>> import json, pathlib, tempfile
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "mine.jsonl"
        >>> _ = f.write_text(json.dumps({"prompt": "hi", "prompt_harmful": 0}) + "\n")
        >>> {t.value: len(ds) for t, ds in load_labelled(f).items()}
        {'prompt_harmful': 1}
    """
    from ..batch import _to_conversation
    from ..io import RowError, read_rows

    p = Path(path)
    if p.is_dir():
        raise DatasetError(f"{p}: is a directory, not a file; give a labelled JSONL, CSV or Parquet file")
    if not p.is_file():
        raise DatasetError(f"{p}: labelled file not found")
    tasks = tuple(Task)
    per: dict[Task, tuple[list[Conversation], list[bool]]] = {t: ([], []) for t in tasks}
    errors: list[str] = []
    n_rows = 0
    for n, row in read_rows(p):
        n_rows += 1
        if isinstance(row, RowError):
            errors.append(row.message)
            continue
        conv = _to_conversation(p, n, row, prompt_column, response_column)
        if isinstance(conv, RowError):
            errors.append(conv.message)
            continue
        try:
            labels = {t: _label_cell(p, n, t.value, row.get(t.value)) for t in tasks}
        except DatasetError as exc:
            errors.append(str(exc))
            continue
        if all(v is None for v in labels.values()):
            errors.append(f"{p}: row {n}: no label; give at least one of {', '.join(t.value for t in tasks)}")
            continue
        for t, v in labels.items():
            if v is None:
                continue
            if t is not Task.PROMPT_HARMFUL and conv.response is None:
                errors.append(f"{p}: row {n}: {t.value} is labelled but column {response_column!r} is missing or empty")
                break
            per[t][0].append(conv)
            per[t][1].append(v)
    if errors:
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        raise DatasetError(f"{len(errors)} of {n_rows} rows cannot be used: " + "; ".join(errors[:3]) + more)
    if not n_rows:
        raise DatasetError(f"{p}: no rows")
    return {t: EvalDataset(p.stem, t, tuple(items), tuple(gold), (p,)) for t, (items, gold) in per.items() if items}


def load_dataset(name: str, data_dir: str | os.PathLike[str] | None = None, limit: int | None = None) -> EvalDataset:
    """Load a benchmark by registry name, optionally only its first ``limit`` items.

    Example:
        >>> sorted(LOADERS)[:3]
        ['aegis', 'apeach', 'beavertails']
    """
    if name not in LOADERS:
        raise DatasetError(f"unknown dataset {name!r}; expected one of {', '.join(sorted(LOADERS))}")
    return LOADERS[name](resolve_data_dir(data_dir)).head(limit)
