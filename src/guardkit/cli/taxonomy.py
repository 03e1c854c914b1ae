"""`guardkit taxonomy`: the risk-category mappings between WildGuard, Llama Guard 2/3 and OpenAI moderation."""

from __future__ import annotations

from typing import Annotated

import typer

from .._exceptions import ConfigError


def register(app: typer.Typer) -> None:
    @app.command("taxonomy")
    def _taxonomy(
        category: Annotated[str | None, typer.Argument(help="A category to convert, e.g. S10 or hate.")] = None,
        source: Annotated[
            str | None, typer.Option("--from", help="Its taxonomy: wildguard, llamaguard3, llamaguard2 or openai.")
        ] = None,
        target: Annotated[str | None, typer.Option("--to", help="Convert into this taxonomy only.")] = None,
    ) -> None:
        """Print the category mapping table, or what one category maps to in the other taxonomies.

        Llama Guard 3's S1-S14 are the hub: every other category maps onto one or more of them.
        """
        from .. import taxonomy as tx

        if category is None:
            if source is not None or target is not None:
                raise ConfigError("--from/--to need a CATEGORY, e.g. guardkit taxonomy S10 --from llamaguard3")
            typer.echo(tx.markdown_table())
            return
        if source is None:
            raise ConfigError(f"which taxonomy is {category!r} from? add --from ({', '.join(tx.TAXONOMIES)})")
        names = [target] if target is not None else [t for t in tx.TAXONOMIES if t != source]
        for name in names:
            mapped = tx.convert(category, source, name)  # unknown taxonomy or category: ConfigError naming it
            shown = ", ".join(f"{c} ({tx.TAXONOMIES[name][c].rstrip('.')})" for c in mapped) or "(none)"
            typer.echo(f"{name}: {shown}")
