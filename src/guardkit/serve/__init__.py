"""``guardkit serve``: an OpenAI-compatible moderation API and a guardrail proxy.

Needs the ``server`` extra (fastapi, uvicorn, prometheus-client)::

    pip install 'guardkit[server]'

Example:
    >>> from guardkit.serve import ServeSettings, create_app
    >>> app = create_app(ServeSettings(backend="fake"))
"""

from __future__ import annotations

from .._optional import require

for _mod in ("fastapi", "uvicorn", "prometheus_client"):
    require(_mod, "server")

from .app import create_app  # noqa: E402
from .settings import Policy, ServeSettings, load_settings  # noqa: E402

__all__ = ["Policy", "ServeSettings", "create_app", "load_settings"]
