"""`guardkit serve`: the moderation API and guardrail proxy (needs ``guardkit[server]``)."""

from __future__ import annotations

import logging
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def _serve(
        host: str = typer.Option(None, "--host", help="Interface to bind (default 127.0.0.1)."),
        port: int = typer.Option(None, "--port", help="Port (default 8000)."),
        backend: str = typer.Option(None, "--backend", help="Guard backend spec, e.g. builtin, fake, hf:/path."),
        backend_opt: list[str] = typer.Option([], "--backend-opt", help="Backend option key=value (repeatable)."),
        upstream: str = typer.Option(
            None, "--upstream", help="OpenAI-compatible base URL of the LLM behind /v1/chat/completions."
        ),
        config: Path = typer.Option(None, "--config", help="Settings file (.toml or .json)."),
        log_level: str = typer.Option("info", "--log-level", help="debug, info, warning, error."),
        log_text: bool = typer.Option(
            None, "--log-text/--no-log-text", help="Log judged user text (off by default)."
        ),
    ) -> None:
        """Serve /v1/moderations, /v1/classify and (with --upstream) the /v1/chat/completions proxy.

        API keys come from the config file's api_keys or GUARDKIT_API_KEYS (comma-separated).
        """
        from ..backends import parse_options
        from ..serve import create_app, load_settings

        overrides = {
            "host": host,
            "port": port,
            "backend": backend,
            "backend_options": parse_options(backend_opt) if backend_opt else None,
            "upstream": upstream,
            "log_text": log_text,
        }
        settings = load_settings(config, overrides)
        app_ = create_app(settings)
        import uvicorn

        logging.getLogger("guardkit").setLevel(log_level.upper())
        uvicorn.run(app_, host=settings.host, port=settings.port, log_level=log_level.lower())
