"""Errors as HTTP replies: every failure becomes `{"error": {"code", "message"}}` with its status."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from redis import exceptions as redis_errors
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from counters import ReddotError
from gateway.observe import metrics

log = logging.getLogger("reddot")


class Unauthenticated(ReddotError):
    """No credentials, or credentials that are invalid or expired."""

    code = "unauthenticated"


class PermissionDenied(ReddotError):
    """Valid credentials that do not reach this route."""

    code = "permission_denied"


class TooLarge(ReddotError):
    """The request body passes the configured size limit."""

    code = "too_large"


STATUS = {
    "invalid_argument": 400,
    "unauthenticated": 401,
    "permission_denied": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "conflict": 409,
    "too_large": 413,
    "resource_exhausted": 429,
    "internal": 500,
    "unavailable": 503,
}
_CODE_OF_STATUS = {status: code for code, status in STATUS.items()}

# Redis errors that mean "not reachable right now" (down, failing over, loading): retrying is safe.
# The WebSocket ops (ws_ops.py) and the hub's snapshot retries use the same list.
UNAVAILABLE = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    redis_errors.ClusterDownError,
    redis_errors.TryAgainError,
    redis_errors.ReadOnlyError,
    redis_errors.MasterDownError,
    redis_errors.BusyLoadingError,
    redis_errors.OutOfMemoryError,  # maxmemory with noeviction
)
# Refusals that reach redis-py as a plain ResponseError, by their error code: a full disk (MISCONF),
# maxmemory with noeviction (OOM), a replica (READONLY), loading (LOADING), a busy script (BUSY).
# Each is a state of the server that passes; a write refused by one was not applied.
REFUSED_CODES = ("MISCONF", "OOM", "READONLY", "LOADING", "MASTERDOWN", "BUSY", "TRYAGAIN", "CLUSTERDOWN")
RETRY_AFTER_SECONDS = "1"


def redis_unavailable(error: BaseException) -> bool:
    """Whether a Redis error means "retry later" (503 `unavailable`) rather than a bug (500)."""
    if isinstance(error, (*UNAVAILABLE, OSError)):
        return True
    if isinstance(error, redis_errors.ResponseError):
        text = str(error)
        # Inside a function call the refusal may come wrapped ("... OOM command not allowed ...").
        return text.startswith(REFUSED_CODES) or any(f"{code} " in text for code in ("MISCONF", "OOM"))
    return False


def error_response(code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """The protocol's error reply for a code."""
    body = orjson.dumps({"error": {"code": code, "message": message}})
    if code == "unauthenticated":
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    return Response(body, status_code=STATUS[code], headers=headers, media_type="application/json")


async def _reddot_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ReddotError)
    return error_response(exc.code, exc.message)


async def _http_error(request: Request, exc: Exception) -> Response:
    # Raised by the router itself: unknown route (404) or a method the route lacks (405).
    assert isinstance(exc, HTTPException)
    code = _CODE_OF_STATUS.get(exc.status_code, "invalid_argument")
    message = f"{request.method} {request.url.path}: {exc.detail.lower()}"
    return error_response(code, message, dict(exc.headers or {}))


async def _redis_error(request: Request, exc: Exception) -> Response:
    metrics.REDIS_ERRORS.labels(type(exc).__name__).inc()
    if redis_unavailable(exc):
        # Counted, not logged: during an outage every request would log the same line.
        return error_response(
            "unavailable",
            f"Redis cannot take this now ({str(exc)[:80]}); retry later (ingest is idempotent)",
            {"Retry-After": RETRY_AFTER_SECONDS},
        )
    log.error("Redis error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response("internal", "Redis rejected the operation")


async def _internal_error(request: Request, exc: Exception) -> Response:
    # Starlette re-raises the exception after this reply, so the server still logs the traceback.
    return error_response("internal", "internal error")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    ReddotError: _reddot_error,
    HTTPException: _http_error,
    redis_errors.RedisError: _redis_error,
    Exception: _internal_error,
}
"""Handlers for Starlette(exception_handlers=…)."""
