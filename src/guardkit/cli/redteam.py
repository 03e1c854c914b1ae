"""`guardkit redteam` (placeholder until implemented)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("redteam")
    def _redteam() -> None:
        """Not implemented yet."""
        raise typer.Exit(code=1)
