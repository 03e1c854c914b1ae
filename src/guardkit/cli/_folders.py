"""Output-folder options (``--out``, ``--cache-dir``): one clear error before any work, never a traceback."""

from __future__ import annotations

from pathlib import Path

from .._exceptions import ConfigError


def refuse_file(opt: str, folder: Path) -> None:
    """A :class:`ConfigError` when ``folder`` exists as a file."""
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{opt} {folder} is a file; give a folder (it is created if missing)")


def make_folder(opt: str, folder: Path) -> None:
    """Create ``folder`` (and its parents), or a :class:`ConfigError` naming the option and why not."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{opt} {folder}: cannot create the folder: {exc.strerror or exc}") from exc
