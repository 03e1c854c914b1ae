"""``guardkit train``: rebuild a bundled model from the training data.

``guardkit train builtin --data-dir DATA/train [--out DIR] [--seed N]`` rebuilds the built-in
model's artifact (``weights.npz`` + ``meta.json``) on CPU; see docs/model-card.md.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import typer

from .._exceptions import ConfigError

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    train_app = typer.Typer(help="Rebuild a bundled model from training data.", no_args_is_help=True)

    @train_app.command("builtin")
    def _builtin(
        data_dir: Annotated[Path, typer.Option("--data-dir", help="The data/train folder (one sub-folder per train set).")],
        out: Annotated[Path | None, typer.Option("--out", help="Artifact folder (default: the bundled guardkit/data/builtin).")] = None,
        seed: Annotated[int, typer.Option("--seed", help="Seed of the data mix, the split and the training.")] = 0,
        epochs: Annotated[int, typer.Option("--epochs", help="Training epochs (the best one on validation is kept).")] = 3,
        cache_dir: Annotated[Path | None, typer.Option("--cache-dir", help="Where to keep the frozen layers' outputs.")] = None,
    ) -> None:
        """Train the built-in model (CPU, about an hour on 2 cores) and write its artifact."""
        from ..backends.builtin import artifact_dir
        from ..train.builtin import TrainConfig, train_builtin

        if not data_dir.is_dir():
            raise ConfigError(f"--data-dir {data_dir} is not a folder; expected the data/train folder")
        logging.getLogger("guardkit").setLevel(logging.INFO)
        meta = train_builtin(data_dir, out or artifact_dir(), TrainConfig(seed=seed, epochs=epochs), cache_dir=cache_dir)
        typer.echo(json.dumps({"thresholds": meta["thresholds"], "val_metrics": meta["val_metrics"],
                               "data_hash": meta["data"]["hash"]}, indent=1))

    app.add_typer(train_app, name="train")
