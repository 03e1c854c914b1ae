"""`guardkit eval` (placeholder until implemented)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("eval")
    def _eval() -> None:
        """Not implemented yet."""
        raise typer.Exit(code=1)
