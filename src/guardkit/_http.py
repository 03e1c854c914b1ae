"""POST JSON to an OpenAI-compatible server with timeouts and retries (shared by the
``openai`` guard backend and the red-team ``openai:`` target).

429, 5xx and connection errors are retried with exponential backoff (a ``Retry-After``
header wins); other 4xx answers raise :class:`Rejected` at once so the caller can turn
them into a precise message.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx

from ._exceptions import BackendError, BackendTimeout, BackendUnavailable

__all__ = ["MAX_BACKOFF_S", "RETRY_STATUS", "Rejected", "error_message", "post_json"]

logger = logging.getLogger(__name__)

RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
MAX_BACKOFF_S = 30.0


class Rejected(BackendError):
    """The server answered a 4xx that retrying will not fix."""

    def __init__(self, url: str, status: int, message: str) -> None:
        super().__init__(f"{url} rejected the request (HTTP {status}: {message})")
        self.url, self.status, self.message = url, status, message


def error_message(response: httpx.Response) -> str:
    """The error text of an OpenAI-style (or any) error body, at most 200 characters."""
    try:
        data = response.json()
    except ValueError:
        return response.text[:200].strip() or response.reason_phrase
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, dict) and err.get("message"):
        return str(err["message"])[:200]
    if isinstance(data, dict) and data.get("message"):
        return str(data["message"])[:200]
    return str(data)[:200]


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def post_json(
    client: httpx.Client,
    url: str,
    body: dict[str, Any],
    *,
    max_retries: int,
    backoff: float,
    timeout: float,
) -> dict[str, Any]:
    """POST ``body``; return the JSON object of a 200 answer.

    Raises:
        Rejected: a 4xx other than 408/409/425/429.
        BackendTimeout: every try timed out.
        BackendUnavailable: the server could not be reached or kept failing.
        BackendError: a 200 answer whose body is not a JSON object.
    """
    last = ""
    timed_out = False
    for attempt in range(max_retries + 1):
        delay = backoff * (2**attempt)
        try:
            response = client.post(url, json=body)
        except httpx.TimeoutException as exc:
            timed_out, last = True, f"no answer within {timeout:g}s ({type(exc).__name__})"
        except httpx.TransportError as exc:
            timed_out, last = False, f"{type(exc).__name__}: {exc}"
        else:
            status = response.status_code
            if status == 200:
                try:
                    data = response.json()
                except ValueError as exc:
                    raise BackendError(f"{url} answered 200 with a body that is not JSON") from exc
                if not isinstance(data, dict):
                    raise BackendError(f"{url} answered 200 with JSON that is not an object")
                return data
            message = error_message(response)
            if status not in RETRY_STATUS:
                raise Rejected(url, status, message)
            timed_out, last = False, f"HTTP {status}: {message}"
            retry_after = _retry_after(response)
            if retry_after is not None:
                delay = retry_after
        if attempt < max_retries:
            logger.info("%s failed (%s); retry %d/%d in %.1fs", url, last, attempt + 1, max_retries, delay)
            time.sleep(min(delay, MAX_BACKOFF_S))
    tries = max_retries + 1
    if timed_out:
        raise BackendTimeout(
            f"{url} did not answer within {timeout:g}s ({tries} tries); raise timeout= or check the server's load"
        )
    raise BackendUnavailable(f"{url} failed after {tries} tries: {last}; is the server up?")
