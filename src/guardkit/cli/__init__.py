"""The ``guardkit`` command line. Each sub-command lives in its own module with ``register(app)``."""

from __future__ import annotations

import importlib
import logging
import sys

import click
import typer

from .._exceptions import GuardkitError

__all__ = ["app", "main"]

# typer >= 0.20 vendors click (typer._click); older typer uses click itself. Catch both.
_ABORT: tuple[type[BaseException], ...] = (typer.Abort, click.exceptions.Abort)
_EXIT: tuple[type[BaseException], ...] = (typer.Exit, click.exceptions.Exit)
_USAGE: tuple[type[BaseException], ...] = tuple(
    {getattr(typer.exceptions, "TyperException", click.exceptions.ClickException), click.exceptions.ClickException}
)

app = typer.Typer(
    name="guardkit",
    help="Safety moderation for LLM applications: prompt harm, refusal and response harm.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_COMMANDS = ("classify", "eval", "serve", "redteam", "train", "taxonomy")
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
    except _ABORT:
        typer.secho("aborted", err=True)
        return 130
    except _EXIT as exc:
        return int(getattr(exc, "exit_code", 0) or 0)
    except _USAGE as exc:  # bad options/arguments: click's own message and usage, exit 2
        exc.show()  # type: ignore[attr-defined]
        return int(getattr(exc, "exit_code", 2))
    except KeyboardInterrupt:
        typer.secho("interrupted", err=True)
        return 130
    return result if isinstance(result, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
