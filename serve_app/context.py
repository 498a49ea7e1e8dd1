"""Per-request context shared by the middleware, error handlers and logs."""

from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
