"""``guardkit classify``: one verdict, or a whole JSONL/CSV/Parquet file (resumable)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from .._exceptions import ConfigError
from .._progress import progress_bar
from .._types import Task, Thresholds, Verdict
from ..backends import DEFAULT_BACKEND, get_backend, parse_options

__all__ = ["register", "thresholds_from_cli"]


def thresholds_from_cli(pairs: list[str]) -> dict[str, float]:
    """``["prompt_harmful=0.7"]`` -> ``{"prompt_harmful": 0.7}`` with clear errors."""
    out: dict[str, float] = {}
    names = [t.value for t in Task]
    for p in pairs:
        key, sep, value = p.partition("=")
        if not sep or key not in names:
            raise ConfigError(f"--threshold must look like TASK=VALUE with TASK in {names}, got {p!r}")
        try:
            out[key] = float(value)
        except ValueError as exc:
            raise ConfigError(f"--threshold {key}: {value!r} is not a number") from exc
    Thresholds(**out)  # validates the range
    return out


def build_classifier(
    backend: str, backend_opt: list[str], threshold: list[str], batch_size: int | None
) -> Any:
    options: dict[str, Any] = parse_options(backend_opt)
    clf = get_backend(backend, options)
    if threshold:
        clf.thresholds = clf.thresholds.replace(**thresholds_from_cli(threshold))
    if batch_size is not None:
        if batch_size < 1:
            raise ConfigError(f"--batch-size must be positive, got {batch_size}")
        clf.batch_size = batch_size
    return clf


def _print_verdict(v: Verdict) -> None:
    for t in Task:
        tv = v.task(t)
        if tv is None:
            value = "n/a"
        else:
            score = "" if tv.score is None else f"  score={tv.score:.3f} (threshold {tv.threshold})"
            value = ("yes" if tv.label else "no") + score
        typer.echo(f"{t.value:17} {value}")
    cats = ", ".join(f"{c.name}" + ("" if c.score is None else f" ({c.score:.2f})") for c in v.categories)
    typer.echo(f"{'categories':17} {cats or '-'}")
    if v.is_parsing_error:
        typer.echo(f"{'parsing error':17} yes (the guard's output did not follow its format)")


def register(app: typer.Typer) -> None:
    @app.command("classify")
    def classify(
        input: Annotated[Path | None, typer.Argument(help="JSONL, CSV or Parquet file to classify.")] = None,
        output: Annotated[
            Path | None, typer.Option("--output", "-o", help="Output file (.jsonl/.csv/.parquet).")
        ] = None,
        prompt: Annotated[str | None, typer.Option("--prompt", help="Classify this one prompt.")] = None,
        response: Annotated[
            str | None, typer.Option("--response", help="The assistant response to --prompt.")
        ] = None,
        backend: Annotated[
            str, typer.Option("--backend", "-b", help="builtin, hf:PATH, vllm:PATH, openai:URL#MODEL, fake.")
        ] = DEFAULT_BACKEND,
        backend_opt: Annotated[
            list[str], typer.Option("--backend-opt", "-O", help="Backend option key=value (repeatable).")
        ] = [],  # noqa: B006
        threshold: Annotated[
            list[str],
            typer.Option("--threshold", help="TASK=VALUE decision threshold override (repeatable)."),
        ] = [],  # noqa: B006
        prompt_column: Annotated[str, typer.Option(help="Input column with the user prompt.")] = "prompt",
        response_column: Annotated[
            str, typer.Option(help="Input column with the response ('' to ignore responses).")
        ] = "response",
        batch_size: Annotated[int | None, typer.Option(help="Items per model call.")] = None,
        overwrite: Annotated[
            bool, typer.Option("--overwrite", help="Redo the output even if it exists.")
        ] = False,
        progress: Annotated[
            bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")
        ] = True,
        as_json: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON.")] = False,
    ) -> int:
        """Classify one prompt (--prompt) or every row of a file (INPUT --output OUTPUT).

        File runs are resumable: run the same command again after an interruption.
        """
        if prompt is not None:
            if input is not None:
                raise ConfigError("give either --prompt or an INPUT file, not both")
            if output is not None:
                raise ConfigError("--output goes with an INPUT file; with --prompt the verdict is printed (--json for JSON)")
            clf = build_classifier(backend, backend_opt, threshold, batch_size)
            with clf:
                verdict = clf.classify_one(prompt, response)
            if as_json:
                typer.echo(json.dumps(verdict.to_dict(), ensure_ascii=False, indent=2))
            else:
                _print_verdict(verdict)
            return 0
        if input is None:
            raise ConfigError("nothing to classify: give --prompt TEXT or an INPUT file with --output")
        if response is not None:
            raise ConfigError("--response goes with --prompt; for files use --response-column")
        if output is None:
            raise ConfigError(f"{input}: --output is required when classifying a file")
        from ..batch import classify_file

        clf = build_classifier(backend, backend_opt, threshold, batch_size)
        with clf, progress_bar("classify", progress) as on_progress:
            result = classify_file(
                input,
                output,
                clf,
                prompt_column=prompt_column,
                response_column=response_column or None,
                overwrite=overwrite,
                on_progress=on_progress,
            )
        resumed = f" ({result.resumed_rows} resumed from an earlier run)" if result.resumed_rows else ""
        typer.echo(f"wrote {result.rows_written} rows to {result.output}{resumed}", err=True)
        if result.errors:
            for e in result.errors[:20]:
                typer.secho(f"error: {e.message}", fg="red", err=True)
            more = len(result.errors) - 20
            if more > 0:
                typer.secho(f"... and {more} more", fg="red", err=True)
            typer.secho(
                f"{len(result.errors)} bad rows skipped; details in {result.errors_file}", fg="red", err=True
            )
            return 1
        return 0
