"""``key=value`` log lines on stderr, greppable (``wrote points=500 elapsed_s=0.12``)."""

from __future__ import annotations

import logging
import sys
from typing import Any


def _format_value(value: Any) -> str:
    text = str(value)
    if text == "" or any(ch in text for ch in ' "='):
        return '"' + text.replace('"', '\\"') + '"'
    return text


def kv(event: str, **fields: Any) -> str:
    """Render an event and its fields as one ``event k=v ...`` line."""
    return " ".join([event, *(f"{key}={_format_value(val)}" for key, val in fields.items())])


def emit(event: str, **fields: Any) -> None:
    """Write one ``event k=v ...`` line to stderr, unwrapped (CLI status lines)."""
    print(kv(event, **fields), file=sys.stderr, flush=True)


class KeyValueFormatter(logging.Formatter):
    """Prefix each record with ``ts= level= logger=`` and keep the message as given."""

    def format(self, record: logging.LogRecord) -> str:
        ts = self.formatTime(record, "%Y-%m-%dT%H:%M:%S")
        line = f"ts={ts} level={record.levelname.lower()} logger={record.name} {record.getMessage()}"
        if record.exc_info:
            line += " exc=" + _format_value(self.formatException(record.exc_info).replace("\n", " | "))
        return line


def configure_logging(level: str = "INFO") -> None:
    """Send gaitstream's logs to stderr as key=value lines (called by entry points, never on import)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Client libraries log every connection at INFO; keep their warnings, drop their chatter.
    for noisy in ("kafka", "aiokafka", "httpx", "httpcore", "urllib3", "faust", "mode"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
