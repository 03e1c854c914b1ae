"""The app factory: settings in, a FastAPI app out (lifespan, middleware, routes, probes).

Example:
    >>> from guardkit.serve import create_app, ServeSettings
    >>> app = create_app(ServeSettings(backend="fake"))
    >>> sorted(p for p in app.openapi()["paths"] if p.startswith("/v1"))
    ['/v1/classify', '/v1/moderations']
"""

from __future__ import annotations

import hmac
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import httpx
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..backends import Classifier, get_backend
from . import classify, moderations, proxy
from .classify import Guard
from .errors import APIError, error_response, install_error_handlers
from .metrics import Metrics
from .schemas import HealthResponse
from .settings import ServeSettings

__all__ = ["create_app"]

logger = logging.getLogger(__name__)

_bearer = HTTPBearer(auto_error=False, description="An API key, when the server has keys configured")


def create_app(
    settings: ServeSettings | None = None,
    *,
    classifier: Classifier | None = None,
    upstream_client: httpx.AsyncClient | None = None,
) -> FastAPI:
    """Build the guardkit server.

    Args:
        settings: server settings (defaults: ``ServeSettings()``).
        classifier: use this classifier instead of building ``settings.backend`` (tests,
            embedding); it is not closed on shutdown.
        upstream_client: the httpx client used to reach ``settings.upstream`` (tests inject
            one with a mock transport); built in the lifespan otherwise.

    The backend is built here (so a bad backend name fails at once) and its model is loaded
    once, in the lifespan, in the guard's worker thread. Requests that arrive while it loads
    wait for it (up to ``guard_timeout_s``); ``/readyz`` answers 503 until it has loaded.

    Raises:
        ConfigError: unknown backend or bad backend options.
    """
    settings = settings or ServeSettings()
    own = classifier is None
    clf = classifier if classifier is not None else get_backend(settings.backend, settings.backend_options)
    metrics = Metrics.create()
    guard = Guard(clf, settings, metrics, own_classifier=own)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await guard.start()
        own_client = upstream_client is None and settings.upstream is not None
        if own_client:
            app.state.upstream_client = httpx.AsyncClient(
                timeout=settings.upstream_timeout_s, limits=httpx.Limits(max_connections=256)
            )
        logger.info("guardkit serve: backend=%s upstream=%s", settings.backend, settings.upstream or "-")
        try:
            yield
        finally:
            await guard.stop()
            if own_client:
                await app.state.upstream_client.aclose()

    app = FastAPI(
        title="guardkit",
        version=_version(),
        description="Safety moderation for LLM apps: OpenAI-compatible moderation, full verdicts "
        "and a guardrail proxy. Errors use OpenAI's shape {error: {message, type, param, code}}.",
        lifespan=lifespan,
    )
    app.state.guard = guard
    app.state.settings = settings
    app.state.upstream_client = upstream_client

    install_error_handlers(app)
    # the security scheme is declared (and enforced) only when keys are configured
    auth = [Depends(_require_key)] if settings.api_keys else []
    app.include_router(moderations.router, dependencies=auth, tags=["moderation"])
    app.include_router(classify.router, dependencies=auth, tags=["moderation"])
    if settings.upstream is not None:  # the proxy exists only with an LLM behind it
        app.include_router(proxy.router, dependencies=auth, tags=["proxy"])
    _add_probes(app, guard, metrics)

    # metric labels: known paths only, so random URLs cannot blow up the label cardinality
    known = set(app.openapi()["paths"]) | {getattr(r, "path", "") for r in app.routes} - {""}
    app.add_middleware(_RequestLog, settings=settings)
    app.add_middleware(_BodyLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(_Metrics, metrics=metrics, known=known)
    return app


def _version() -> str:
    from .. import __version__

    return __version__


async def _require_key(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    keys: tuple[str, ...] = request.app.state.settings.api_keys
    if not keys:
        return
    given = (credentials.credentials if credentials is not None else "").encode()
    # compare against every key (no early exit) in constant time per key
    ok = False
    for key in keys:
        ok |= hmac.compare_digest(given, key.encode())
    if not ok:
        message = (
            "Incorrect API key provided."
            if given
            else "You didn't provide an API key: send it as 'Authorization: Bearer KEY'."
        )
        raise APIError(401, message, code="invalid_api_key", headers={"WWW-Authenticate": "Bearer"})


def _add_probes(app: FastAPI, guard: Guard, metrics: Metrics) -> None:
    @app.get("/healthz", response_model=HealthResponse, tags=["ops"])
    async def healthz() -> HealthResponse:
        """Liveness: the process answers."""
        return HealthResponse(status="ok")

    @app.get(
        "/readyz",
        response_model=HealthResponse,
        tags=["ops"],
        responses={503: {"model": HealthResponse, "description": "The model is loading or failed to load"}},
    )
    async def readyz() -> Any:
        """Readiness: 200 once the guard model has loaded, 503 before (or if loading failed)."""
        err = guard.batcher.load_error
        if guard.batcher.ready:
            return HealthResponse(status="ready", backend=guard.backend)
        body = HealthResponse(
            status="failed" if err else "loading",
            backend=guard.backend,
            error=None if err is None else str(err),
        )
        return JSONResponse(body.model_dump(), status_code=503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics_endpoint() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


class _BodyLimit:
    """413 for bodies over ``max_bytes`` (by Content-Length, or counted while reading).

    Also treats a JSON-looking body sent as a form (``curl -d`` without ``-H content-type``)
    or without a content type as JSON, so the usual curl one-liners work.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self, n: int | str) -> Response:
        return error_response(
            APIError(
                413, f"request body too large: {n} bytes, at most {self.max_bytes}", code="request_too_large"
            )
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await self._too_large(int(length))(scope, receive, send)
            return
        # read the whole (bounded) body first, then replay it to the app
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                await self._too_large(f"more than {self.max_bytes}")(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False
        ctype = dict(scope["headers"]).get(b"content-type", b"").split(b";")[0].strip().lower()
        if ctype in (b"", b"application/x-www-form-urlencoded") and body.lstrip()[:1] in (b"{", b"["):
            headers = [(k, v) for k, v in scope["headers"] if k != b"content-type"]
            scope = {**scope, "headers": [*headers, (b"content-type", b"application/json")]}

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class _Metrics:
    """Counts requests and times them to the last byte (streams included)."""

    def __init__(self, app: ASGIApp, metrics: Metrics, known: set[str]) -> None:
        self.app = app
        self.metrics = metrics
        self.known = known

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        endpoint = path if path in self.known else "other"
        status = 500
        start = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.metrics.requests.labels(endpoint=endpoint, method=scope["method"], status=str(status)).inc()
            self.metrics.latency.labels(endpoint=endpoint).observe(time.perf_counter() - start)


class _RequestLog:
    """Adds ``X-Request-ID`` and logs method, path, status and latency (never bodies)."""

    def __init__(self, app: ASGIApp, settings: ServeSettings) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")[:64] or uuid.uuid4().hex
        start = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode("latin-1"))]
                logger.info(
                    "%s %s -> %s in %.1f ms [%s]",
                    scope["method"],
                    scope["path"],
                    message["status"],
                    (time.perf_counter() - start) * 1000,
                    rid,
                )
            await send(message)

        await self.app(scope, receive, send_wrapper)
