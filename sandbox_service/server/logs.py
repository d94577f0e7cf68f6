"""Structured logging: one JSON object per line, so request logs can be queried, not grepped.

Code logs with ``logger.info("message", extra={"fields": {...}})``; :class:`JsonFormatter` merges
the fields into the line. The server never configures logging itself (a library must not); the
CLI's ``crucible sandbox serve`` calls :func:`configure_json_logging`.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

# One encoder for every line: ``json.dumps`` with ``default`` builds a new one per call.
_ENCODER = json.JSONEncoder(default=str)


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line: time, level, logger, message and the record's fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return _ENCODER.encode(entry)


def configure_json_logging(level: int = logging.INFO) -> None:
    """Send every log record to stderr as a JSON line (replacing the root logger's handlers)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    # The lines carry none of the thread, process or multiprocessing names, nor the source file
    # and line of the logging call, that every record would otherwise look up (the logging
    # HOWTO's "Optimization"; the caller's frame walk is the dearest): a request's line is
    # written on the event loop's thread.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
