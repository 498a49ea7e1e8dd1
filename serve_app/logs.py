"""JSON logs: one object per line (time, level, request id, route, status, latency, message).

Nothing here logs a request body or an Authorization header, so a password or
token cannot reach a log line through this path.

The access log (`AccessLog`, one line per request) writes its line straight
to the handler `configure_logging` set up, the same line `JsonFormatter`
makes: the logging module's per-record work (a LogRecord of some twenty
attributes, Ray's record factory, the caller lookup, the generic formatter)
was ~12% of a sold-out refusal's CPU in the ingress (py-spy, 2026-11-30).
"""

from __future__ import annotations

import logging
import math
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson

from serve_app.context import request_id_var

_EXTRA_FIELDS = ("route", "method", "status", "latency_ms", "event")
ACCESS_LOGGER = "commerce.access"

_second: tuple[int, str] = (-1, "")  # the last second formatted, and how


def _timestamp(created: float) -> str:
    """ISO 8601 in UTC with milliseconds, as `isoformat(timespec="milliseconds")` writes
    it; the date and time up to the second are formatted once per second."""
    global _second
    fraction, whole = math.modf(created)
    micros = round(fraction * 1_000_000)  # rounded to the microsecond first, as datetime does
    second = int(whole) + micros // 1_000_000
    if _second[0] != second:
        _second = (second, datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    return f"{_second[1]}.{micros % 1_000_000 // 1000:03d}+00:00"


def _json_line(created: float, level: str, logger: str, request_id: str | None, message: str, fields: dict) -> str:
    """A log line: the fields every line has, then those of `fields` that are set."""
    entry = {"time": _timestamp(created), "level": level, "logger": logger, "request_id": request_id,
             "message": message}
    entry.update((name, value) for name, value in fields.items() if value is not None)
    return orjson.dumps(entry).decode()


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = {field: getattr(record, field, None) for field in _EXTRA_FIELDS}
        if record.exc_info:
            fields["exception"] = self.formatException(record.exc_info)
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        return _json_line(record.created, record.levelname, record.name, request_id, record.getMessage(), fields)


def configure_logging(level: str = "INFO", log_file: Path | None = None) -> None:
    """Send every log record as JSON to the log file if given, else to stderr.

    One handler, not both: a replica's stderr already lands in Ray's own log
    files, and formatting every access-log line twice was a measurable part of
    a request's CPU. The access log bypasses any other root handlers (Ray's).
    """
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(log_file)
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        if isinstance(old.formatter, JsonFormatter):
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    access = logging.getLogger(ACCESS_LOGGER)
    for old in list(access.handlers):
        access.removeHandler(old)
    access.addHandler(handler)
    access.propagate = False


class AccessLog:
    """One JSON line per request. Written straight to the stream of the one handler
    `configure_logging` gave the access logger; through `logging` when it has any
    other set-up (a test's capture, or no configuration at all)."""

    def __init__(self, name: str = ACCESS_LOGGER):
        self.logger = logging.getLogger(name)

    def request(self, method: str, route: str, status: int, latency_ms: float, request_id: str) -> None:
        logger = self.logger
        if not logger.isEnabledFor(logging.INFO):
            return
        message = f"{method} {route} {status}"
        fields = {"route": route, "method": method, "status": status, "latency_ms": latency_ms}
        handler = _direct_handler(logger)
        if handler is not None:
            line = _json_line(time.time(), "INFO", logger.name, request_id, message, fields) + handler.terminator
            try:
                with handler.lock:
                    handler.stream.write(line)
                    handler.stream.flush()
                return
            except Exception:  # noqa: BLE001 - e.g. a full disk: logging reports it its own way, below
                pass
        logger.info(message, extra={**fields, "request_id": request_id})


def _direct_handler(logger: logging.Logger) -> logging.StreamHandler | None:
    """The access logger's own JSON stream handler, if that is all it has."""
    if logger.propagate or len(logger.handlers) != 1 or logger.filters:
        return None
    (handler,) = logger.handlers
    if type(handler) not in (logging.StreamHandler, logging.FileHandler) or handler.filters:
        return None
    if not isinstance(handler.formatter, JsonFormatter) or handler.level > logging.INFO or handler.stream is None:
        return None
    return handler
