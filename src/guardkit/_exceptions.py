"""guardkit's exception tree.

::

    GuardkitError
     ├── ConfigError            bad settings: unknown backend, bad option, bad threshold
     ├── InputError             bad user input: empty text, malformed conversation
     ├── DatasetError           unreadable file, missing column, broken row
     ├── ParseError             a guard model's output could not be parsed (only raised
     │                          when asked; classify() returns is_parsing_error=True instead)
     ├── BackendError           a backend failed while classifying
     │    ├── BackendUnavailable   cannot be loaded / reached (missing model, server down)
     │    └── BackendTimeout       did not answer in time
     └── MissingDependency     (also an ImportError) an optional extra is not installed

Every message says what was wrong and what to do about it.
"""

from __future__ import annotations

__all__ = [
    "BackendError",
    "BackendTimeout",
    "BackendUnavailable",
    "ConfigError",
    "DatasetError",
    "GuardkitError",
    "InputError",
    "MissingDependency",
    "ParseError",
]


class GuardkitError(Exception):
    """Base class of every error guardkit raises on purpose."""


class ConfigError(GuardkitError, ValueError):
    """A setting is invalid: unknown backend, malformed option, threshold out of range."""


class InputError(GuardkitError, ValueError):
    """An input item is invalid: empty text, a conversation without a user turn."""


class DatasetError(GuardkitError):
    """A data file cannot be read: missing file or column, broken row."""


class ParseError(GuardkitError):
    """A guard model's generation does not follow the expected output format."""


class BackendError(GuardkitError):
    """A backend failed while classifying."""


class BackendUnavailable(BackendError):
    """A backend cannot be loaded or reached."""


class BackendTimeout(BackendError):
    """A backend did not answer within its timeout."""


class MissingDependency(GuardkitError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""
