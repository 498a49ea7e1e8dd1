"""JSON logs: one object per line (time, level, request id, route, status, latency, message).

Nothing here logs a request body or an Authorization header, so a password or
token cannot reach a log line through this path.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from pathlib import Path

import orjson

from serve_app.context import request_id_var

_EXTRA_FIELDS = ("route", "method", "status", "latency_ms", "event")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
            "message": record.getMessage(),
        }
        for field in _EXTRA_FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                entry[field] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


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
    access = logging.getLogger("commerce.access")
    for old in list(access.handlers):
        access.removeHandler(old)
    access.addHandler(handler)
    access.propagate = False
