"""`guardkit redteam`: attack success rate and refusal-to-answer rate, without and with a guard."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from ..redteam.attacks import ATTACK_SETS
from ..redteam.mutators import MUTATORS

__all__ = ["register"]

logger = logging.getLogger(__name__)


def register(app: typer.Typer) -> None:
    @app.command("redteam")
    def _redteam(
        target: Annotated[str, typer.Option(help="smollm2 | hf:PATH_OR_ID | openai:BASE_URL#MODEL")],
        attacks: Annotated[str, typer.Option(help=f"attack set: {' | '.join(ATTACK_SETS)}")],
        judge: Annotated[str, typer.Option(help="backend that judges responses (harm, refusal)")] = "builtin",
        guard: Annotated[str | None, typer.Option(help="backend put in front of the target")] = None,
        limit: Annotated[int | None, typer.Option(help="at most N harmful and N benign attacks")] = None,
        seed: Annotated[int, typer.Option(help="seed for sampling and mutators")] = 0,
        mutators: Annotated[str, typer.Option(
                help=f"mutators applied to what the target receives, comma-separated, or 'all': {', '.join(MUTATORS)}"
            )] = "none",
        evasion_mutators: Annotated[
            str, typer.Option(help="mutators for the guard-evasion check (guard only), 'all' or 'none'")
        ] = "all",
        data_dir: Annotated[
            Path | None, typer.Option(help="shared data folder (default: $GUARDKIT_DATA_DIR, else ../shared/data)")
        ] = None,
        out: Annotated[Path, typer.Option(help="output folder: journals, report.json/.md/.png")] = Path("out/redteam"),
        target_option: Annotated[
            list[str] | None, typer.Option("--target-option", "-T", help="target key=value, e.g. max_new_tokens=128")
        ] = None,
        judge_option: Annotated[list[str] | None, typer.Option("--judge-option", help="judge backend key=value")] = None,
        guard_option: Annotated[list[str] | None, typer.Option("--guard-option", help="guard backend key=value")] = None,
        plot: Annotated[bool, typer.Option(help="write report.png")] = True,
        progress: Annotated[bool, typer.Option(help="progress bars on stderr")] = True,
    ) -> None:
        """Red-team a target LLM: ASR and RTA without and with a guardkit guard (WildGuard Table 6).

        Example: guardkit redteam --target smollm2 --attacks wildjailbreak --guard builtin --limit 10
        """
        from .._exceptions import ConfigError
        from ..backends import get_backend, parse_options
        from ..redteam.attacks import load_attacks
        from ..redteam.mutators import parse_mutators
        from ..redteam.report import build_report, write_results
        from ..redteam.runner import run_attacks
        from ..redteam.targets import get_target
        from ._folders import make_folder, refuse_file

        # validate everything cheap before loading any data or model
        if attacks not in ATTACK_SETS:
            raise ConfigError(f"unknown attack set {attacks!r}; expected one of {', '.join(ATTACK_SETS)}")
        if limit is not None and limit < 1:
            raise ConfigError(f"--limit must be a positive integer, got {limit}")
        refuse_file("--out", out)
        chosen = parse_mutators(mutators)
        evasion = () if evasion_mutators.strip() == "none" else parse_mutators(evasion_mutators)
        tgt = get_target(target, parse_options(target_option or []))
        judge_clf = get_backend(judge, parse_options(judge_option or []))
        guard_clf = None
        if guard is not None:
            same = guard == judge and not guard_option and not judge_option
            guard_clf = judge_clf if same else get_backend(guard, parse_options(guard_option or []))

        make_folder("--out", out)
        attack_set = load_attacks(attacks, data_dir, limit=limit, seed=seed)
        expanded = attack_set.expand(chosen, seed)
        logger.info("red-teaming with %d attacks", len(expanded))
        try:
            run = run_attacks(
                expanded, tgt, judge_clf, out_dir=out, guard=guard_clf, evasion_mutators=evasion,
                seed=seed, progress=progress,
            )
        finally:
            for obj in {id(x): x for x in (tgt, judge_clf, guard_clf) if x is not None}.values():
                close = getattr(obj, "close", None)
                if close is not None:
                    close()
        params = {
            "target": target, "target_params": tgt.params, "attacks": attacks, "judge": judge,
            "judge_params": judge_clf.params, "guard": guard,
            "guard_params": guard_clf.params if guard_clf is not None else None,
            "limit": limit, "seed": seed, "mutators": list(chosen), "evasion_mutators": list(evasion),
        }
        report = build_report(
            run.results, evasion=run.evasion, guarded=guard_clf is not None,
            params=params, data_hashes=attack_set.data_hashes,
        )
        paths = report.save(out, plot=plot)
        paths["results"] = write_results(run.results, out / "results.jsonl")
        typer.echo(report.to_markdown())
        typer.echo(f"\nwrote {', '.join(str(p) for p in paths.values())}", err=True)
