"""Import optional dependencies where they are used, with a message naming the extra."""

from __future__ import annotations

import importlib
from types import ModuleType

from ._exceptions import MissingDependency

__all__ = ["require"]


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependency` naming the extra to install.

    Example:
        >>> np = require("numpy", "eval")
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependency(
            f"{module!r} is needed for this feature but is not installed: pip install 'guardkit[{extra}]'"
        ) from exc
