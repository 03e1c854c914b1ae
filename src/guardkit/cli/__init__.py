"""The ``guardkit`` command line. Each sub-command lives in its own module with ``register(app)``."""

from __future__ import annotations

import importlib
import logging
import sys

import click
import typer

from .._exceptions import GuardkitError

__all__ = ["app", "main"]

app = typer.Typer(
    name="guardkit",
    help="Safety moderation for LLM applications: prompt harm, refusal and response harm.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_COMMANDS = ("classify", "eval", "serve", "redteam", "train")
for _name in _COMMANDS:
    importlib.import_module(f"{__name__}.{_name}").register(app)


def main(argv: list[str] | None = None) -> int:
    """Entry point: runs the app, turning guardkit errors into one clear line and exit 2."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        result = app(args=argv, standalone_mode=False)
    except GuardkitError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        return 2
    except click.exceptions.Abort:
        typer.secho("aborted", err=True)
        return 130
    except click.exceptions.ClickException as exc:
        exc.show()
        return exc.exit_code
    except KeyboardInterrupt:
        typer.secho("interrupted", err=True)
        return 130
    return result if isinstance(result, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
