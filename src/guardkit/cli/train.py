"""`guardkit train` (placeholder until implemented)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("train")
    def _train() -> None:
        """Not implemented yet."""
        raise typer.Exit(code=1)
