"""`guardkit eval`: reproduce the WildGuard paper's table (and more suites) for any backend."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer


def _default_cache(out: Path) -> Path:
    return out / "cache"


def register(app: typer.Typer) -> None:
    @app.command("eval")
    def _eval(
        suite: Annotated[str | None, typer.Option(help="paper, korean, overrefusal or all (default: paper, or none when --labelled is given)")] = None,
        labelled: Annotated[list[Path] | None, typer.Option("--labelled", help="your own labelled JSONL/CSV/Parquet: prompt, response and any of prompt_harmful, response_refusal, response_harmful (repeatable)")] = None,
        backend: Annotated[str, typer.Option(help="backend spec, e.g. builtin, fake, hf:/path/to/model")] = "builtin",
        backend_opt: Annotated[list[str] | None, typer.Option("--backend-opt", "-O", help="key=value backend option (repeatable)")] = None,
        data_dir: Annotated[Path | None, typer.Option(help="data dir holding eval/ (default: $GUARDKIT_DATA_DIR or ../shared/data)")] = None,
        out: Annotated[Path, typer.Option(help="output folder for report.json/csv/md and plots")] = Path("out/eval"),
        cache_dir: Annotated[Path | None, typer.Option(help="prediction cache (default: OUT/cache)")] = None,
        prompt_column: Annotated[str, typer.Option(help="--labelled files: the column with the user prompt")] = "prompt",
        response_column: Annotated[str, typer.Option(help="--labelled files: the column with the assistant response")] = "response",
        limit: Annotated[int | None, typer.Option(help="only the first N items of each dataset")] = None,
        sample: Annotated[int | None, typer.Option(help="a seeded random sample of N items of each dataset")] = None,
        seed: Annotated[int, typer.Option(help="seed for --sample")] = 0,
        plots: Annotated[bool, typer.Option("--plots/--no-plots", help="write PR and reliability PNGs")] = True,
        progress: Annotated[bool | None, typer.Option("--progress/--no-progress", help="progress bar (default: when stderr is a terminal)")] = None,
    ) -> None:
        """Evaluate a backend on a benchmark suite or your own labelled files; print a Markdown table, write OUT/report.*."""
        from ..backends import get_backend, parse_options
        from ..eval.report import markdown, write_report
        from ..eval.suites import SuiteEvaluator
        from ._folders import make_folder, refuse_file

        cache = cache_dir if cache_dir is not None else _default_cache(out)
        folders = (("--out", out), ("--cache-dir", cache))
        for opt, folder in folders:
            refuse_file(opt, folder)

        evaluator = SuiteEvaluator(
            suite if suite is not None or labelled else "paper",
            labelled=labelled or (),
            prompt_column=prompt_column,
            response_column=response_column,
            data_dir=data_dir,
            cache_dir=cache,
            limit=limit,
            sample=sample,
            seed=seed,
            progress=progress,
        )
        for opt, folder in folders:  # before any model loads or item is classified
            make_folder(opt, folder)
        clf = get_backend(backend, parse_options(backend_opt or []))
        with clf:
            result = evaluator.run(clf)
        files = write_report(result, out, plots=plots)
        typer.echo(markdown(result))
        typer.echo("wrote " + ", ".join(os.fspath(f) for f in files), err=True)
