"""The agent's log output: readable text, or JSON lines for a log pipeline.

A JSON line carries ``time`` (RFC 3339, UTC), ``level``, ``logger``,
``message`` and every structured extra a call passed (``extra={...}``),
plus ``exception`` with the traceback when there is one. Values a JSON
encoder does not know are written as their ``str()``.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Final, TextIO

from agent.telemetry.config import LoggingSettings

TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LEVELS: Final = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
# what every LogRecord has; anything else on a record came from ``extra``
_STANDARD: Final = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys() | {"message", "asctime"}
)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def configure_logging(
    settings: LoggingSettings, *, verbose: bool = False, stream: TextIO | None = None
) -> logging.Handler:
    """Replace the root logger's handlers with one in the configured format and level.

    ``verbose`` (the command line's -v) forces debug. Returns the handler.
    """
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    if settings.format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else LEVELS[settings.level])
    return handler
