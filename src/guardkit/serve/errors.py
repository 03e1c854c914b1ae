"""Errors in OpenAI's shape, and the handlers that make every failure one of them.

Every error body is ``{"error": {"message", "type", "param", "code"}}``. Validation errors
(wrong types, invalid JSON, invalid UTF-8) are 400, never 422 or 500.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from .._exceptions import BackendError, BackendTimeout, InputError

__all__ = ["APIError", "error_response", "install_error_handlers"]

logger = logging.getLogger(__name__)

_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    502: "upstream_error",
    503: "guard_unavailable",
    504: "upstream_error",
}


class APIError(Exception):
    """An error answered in OpenAI's shape with ``status``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.type = type or _TYPES.get(status, "invalid_request_error" if status < 500 else "server_error")
        self.headers = headers


def error_response(err: APIError) -> JSONResponse:
    body = {"error": {"message": err.message, "type": err.type, "param": err.param, "code": err.code}}
    return JSONResponse(body, status_code=err.status, headers=err.headers)


def guard_failure(exc: BackendError) -> APIError:
    """The 503 answered when the guard fails or times out (fail-closed)."""
    if isinstance(exc, BackendTimeout):
        return APIError(503, f"{exc}; try again later", code="guard_timeout")
    return APIError(503, f"the guard failed: {exc}", code="guard_error")


#: Error types that only say a value does not have a union branch's shape (``"input": []`` is not
#: a string); another error (too short, blank, a bad literal) says what is wrong in the branch meant.
_WRONG_SHAPE = ("missing", "extra_forbidden", "none_required")


def _most_telling(errors: list[dict[str, Any]]) -> dict[str, Any]:
    for e in errors:
        kind = str(e.get("type", ""))
        if not kind.endswith("_type") and kind not in _WRONG_SHAPE:
            return e
    return errors[0]


def _validation_message(errors: list[dict[str, Any]]) -> tuple[str, str | None]:
    if not errors:
        return "invalid request", None
    e = _most_telling(errors)
    if e.get("type") == "json_invalid":
        return "the request body is not valid JSON", None
    if e.get("type") == "string_pattern_mismatch":
        e = {**e, "msg": "must not be empty or blank"}
    loc = [str(p) for p in e.get("loc", ()) if p != "body"]
    # drop pydantic's union-branch names ("str", "list[...]") for a readable param path
    param = ".".join(
        p for p in loc if not any(ch in p for ch in "[]()") and p not in {"str", "function-after"}
    )
    msg = str(e.get("msg", "invalid value"))
    if not loc and e.get("type") == "missing":
        return "the request body is empty: send a JSON object", None
    if not loc and e.get("type") in ("model_attributes_type", "model_type", "dict_type"):
        return "the request body must be a JSON object (Content-Type: application/json)", None
    if len(errors) > 1:
        msg += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return (f"{param}: {msg}" if param else msg), (param or None)


def install_error_handlers(app: FastAPI) -> None:
    """Turn every failure into OpenAI's error shape (and never a bare 500 for bad input)."""

    @app.exception_handler(APIError)
    async def _api_error(request: Request, exc: APIError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        if errors and errors[0].get("type") == "json_invalid":
            try:
                (await request.body()).decode("utf-8")
            except UnicodeDecodeError:
                return error_response(
                    APIError(400, "the request body is not valid UTF-8", code="invalid_encoding")
                )
            return error_response(APIError(400, "the request body is not valid JSON", code="invalid_json"))
        if errors and errors[0].get("type") == "unsupported_input_type":
            i = errors[0].get("ctx", {}).get("i", 0)
            return error_response(
                APIError(400, str(errors[0]["msg"]), param=f"input.{i}", code="unsupported_input_type")
            )
        message, param = _validation_message(errors)
        return error_response(APIError(400, message, param=param, code="invalid_value"))

    @app.exception_handler(InputError)
    async def _input(request: Request, exc: InputError) -> JSONResponse:
        return error_response(APIError(400, str(exc), code="invalid_value"))

    @app.exception_handler(UnicodeDecodeError)
    async def _utf8(request: Request, exc: UnicodeDecodeError) -> JSONResponse:
        return error_response(APIError(400, "the request body is not valid UTF-8", code="invalid_encoding"))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code)
        detail = exc.detail if isinstance(exc.detail, str) else "request failed"
        if exc.status_code == 400 and "parsing the body" in detail:
            detail, code = "the request body could not be parsed as JSON (is it valid UTF-8?)", "invalid_json"
        return error_response(
            APIError(exc.status_code, detail, code=code, headers=getattr(exc, "headers", None))
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # a bug, not the client's fault; the message never echoes user text
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(APIError(500, "internal server error", type="server_error"))
