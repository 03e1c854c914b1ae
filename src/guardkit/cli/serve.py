"""`guardkit serve`: the moderation API and guardrail proxy (needs ``guardkit[server]``)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from .._exceptions import ConfigError


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def _serve(
        host: Annotated[str | None, typer.Option(help="Interface to bind (default 127.0.0.1).")] = None,
        port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
        backend: Annotated[
            str | None,
            typer.Option(help="Guard backend spec, e.g. builtin, fake, hf:/path (default builtin)."),
        ] = None,
        backend_opt: Annotated[
            list[str] | None, typer.Option("--backend-opt", "-O", help="Backend option key=value (repeatable).")
        ] = None,
        upstream: Annotated[
            str | None,
            typer.Option(help="OpenAI-compatible base URL of the LLM behind /v1/chat/completions."),
        ] = None,
        config: Annotated[Path | None, typer.Option(help="Settings file (.toml or .json).")] = None,
        log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
        log_text: Annotated[
            bool | None,
            typer.Option("--log-text/--no-log-text", help="Log judged user text (off by default)."),
        ] = None,
    ) -> None:
        """Serve /v1/moderations, /v1/classify and (with --upstream) the /v1/chat/completions proxy.

        API keys come from the config file's api_keys or GUARDKIT_API_KEYS (comma-separated).
        """
        from ..backends import parse_options
        from ..serve import create_app, load_settings

        if log_level.lower() not in ("debug", "info", "warning", "error"):
            raise ConfigError(f"--log-level must be debug, info, warning or error, got {log_level!r}")
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
        # guardkit logs each request itself (with latency and X-Request-ID): no uvicorn access log
        uvicorn.run(
            app_, host=settings.host, port=settings.port, log_level=log_level.lower(), access_log=False
        )
