"""The one mapping from errors to HTTP: status codes and the API.md error body.

`{"error": {"code", "message", "details", "request_id"}}` for every status >= 400.
"""

from __future__ import annotations

import math
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from domain import errors as domain
from serve_app.context import request_id_var

STATUS_BY_ERROR: list[tuple[type[domain.DomainError], int]] = [
    (domain.InvalidInput, 422),
    (domain.NotFound, 404),
    (domain.PreconditionFailed, 412),
    (domain.Conflict, 409),
    (domain.Unauthenticated, 401),
    (domain.Forbidden, 403),
    (domain.RateLimited, 429),
    (domain.Unavailable, 503),
]

CODE_BY_STATUS = {
    400: "bad_request", 401: "not_authenticated", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 412: "precondition_failed", 413: "payload_too_large",
    415: "unsupported_media_type", 422: "validation_error", 429: "rate_limited",
    500: "internal_error", 503: "unavailable",
}

# Retry hint for 503s whose cause does not say how long to wait.
DEFAULT_RETRY_AFTER_S = 1


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = {"error": {"code": code, "message": message, "details": details or {}, "request_id": request_id_var.get()}}
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def status_for(exc: domain.DomainError) -> int:
    for error_type, status in STATUS_BY_ERROR:
        if isinstance(exc, error_type):
            return status
    return 400


def domain_error_response(exc: domain.DomainError) -> Response:
    headers = None
    if isinstance(exc, domain.RateLimited):
        headers = {"Retry-After": str(max(1, math.ceil(exc.retry_after_s)))}
    elif isinstance(exc, domain.Unavailable):
        headers = {"Retry-After": str(DEFAULT_RETRY_AFTER_S)}
    return error_response(status_for(exc), exc.code, exc.message, exc.details, headers)


def _safe_validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Never echo the input back: it may hold a password or a token.
    return [
        {"loc": [str(part) for part in err.get("loc", ())], "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors()
    ]


async def _on_validation_error(request: Request, exc: RequestValidationError) -> Response:
    errors = _safe_validation_errors(exc)
    if any(err["type"] == "json_invalid" for err in errors):
        return error_response(400, "malformed_json", "The request body is not valid JSON.", {"errors": errors})
    return error_response(422, "validation_error", "The request did not pass validation.", {"errors": errors})


async def _on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
    code = CODE_BY_STATUS.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    if exc.status_code == 404 and message == "Not Found":
        message = f"No route for {request.method} {request.url.path}."
    elif exc.status_code == 405:
        message = f"Method {request.method} is not allowed on {request.url.path}."
    return error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))


async def _on_domain_error(request: Request, exc: domain.DomainError) -> Response:
    return domain_error_response(exc)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(domain.DomainError, _on_domain_error)
