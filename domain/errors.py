"""Domain errors: how business rejections and infrastructure trouble cross layers.

Actors and services raise these; only `serve_app/` maps them to an HTTP
status and the error body of API.md. Each carries a stable snake_case code.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "domain_error"

    def __init__(self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details or {}

    def __reduce__(self):  # survive pickling across Ray process boundaries
        return (_rebuild, (type(self), self.message, self.code, self.details))


def _rebuild(cls, message, code, details):
    return cls(message, code=code, details=details)


class InvalidInput(DomainError):
    """The request is well-formed but breaks a rule (422)."""

    code = "invalid_input"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    """The request clashes with current state (409): out_of_stock, email_taken, ..."""

    code = "conflict"


class IllegalTransition(Conflict):
    code = "illegal_transition"


class PreconditionFailed(DomainError):
    """A stale `If-Match` version (412)."""

    code = "precondition_failed"


class Unauthenticated(DomainError):
    code = "not_authenticated"


class Forbidden(DomainError):
    code = "forbidden"


class RateLimited(DomainError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: float, code: str | None = None, details=None):
        super().__init__(message, code=code, details=details)
        self.retry_after_s = retry_after_s

    def __reduce__(self):
        return (_rebuild_rate_limited, (self.message, self.code, self.details, self.retry_after_s))


def _rebuild_rate_limited(message, code, details, retry_after_s):
    return RateLimited(message, code=code, details=details, retry_after_s=retry_after_s)


class Unavailable(DomainError):
    """A dependency is down or an actor could not be reached in time (503, retryable)."""

    code = "unavailable"
