"""`guardkit serve` (placeholder until implemented)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def _serve() -> None:
        """Not implemented yet."""
        raise typer.Exit(code=1)
