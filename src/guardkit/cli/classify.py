"""`guardkit classify` (placeholder until implemented)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("classify")
    def _classify() -> None:
        """Not implemented yet."""
        raise typer.Exit(code=1)
