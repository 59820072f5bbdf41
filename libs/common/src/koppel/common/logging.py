"""Structured logs: one JSON object per line, carrying the ids that tie a line to a trace,
a tenant and a record's journey (DESIGN.md section 7).

The runtime sets ``service``, ``tenant_id``, ``correlation_id``, ``message_id`` and
``handler`` in context variables around every message (``log_context``); the trace and span
ids come from the current OpenTelemetry span. A redaction filter masks values whose key looks
secret (``secret``, ``token``, ``password``, ``authorization``, ``api_key``, ...) in ``extra``
fields, in dict arguments and in ``key=value`` text of the message itself, because
credentials must never reach a log (DESIGN.md section 5).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from koppel.common.telemetry import current_ids

CONTEXT_FIELDS = ("service", "tenant_id", "correlation_id", "message_id", "handler")
_CONTEXT: dict[str, ContextVar[str | None]] = {
    name: ContextVar(f"koppel_log_{name}", default=None) for name in CONTEXT_FIELDS
}

SECRET_KEY = re.compile(r"secret|token|passw|authorization|api[_-]?key|credential|cookie", re.I)
_SECRET_TEXT = re.compile(
    r"(?i)\b([\w-]*(?:secret|token|passw\w*|authorization|api[_-]?key)[\w-]*)"
    r"(\"?\s*[:=]\s*\"?)(bearer\s+)?([^\s\"',&;}]+)"
)
REDACTED = "***"
_STANDARD_ATTRS = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


@contextmanager
def log_context(**fields: str | None) -> Iterator[None]:
    """Set context fields for every log line inside the block (async-safe)."""
    tokens = [(_CONTEXT[name], _CONTEXT[name].set(value)) for name, value in fields.items()]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def context_fields() -> dict[str, str]:
    values = {name: var.get() for name, var in _CONTEXT.items()}
    return {name: value for name, value in values.items() if value is not None}


def redact(value: Any) -> Any:
    """A copy of ``value`` with secret-looking keys masked (dicts, lists, text)."""
    if isinstance(value, Mapping):
        return {
            k: (REDACTED if isinstance(k, str) and SECRET_KEY.search(k) else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(redact(v) for v in value)
    if isinstance(value, str):
        return _SECRET_TEXT.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", value)
    return value


class RedactingFilter(logging.Filter):
    """Masks secrets in the record before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, Mapping):
            record.args = redact(record.args)
        elif isinstance(record.args, tuple):
            record.args = tuple(redact(a) for a in record.args)
        record.msg = redact(record.msg) if isinstance(record.msg, str) else record.msg
        for key in list(record.__dict__):
            if key not in _STANDARD_ATTRS:
                value = record.__dict__[key]
                record.__dict__[key] = REDACTED if SECRET_KEY.search(key) else redact(value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, context, trace, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        entry.update(context_fields())
        trace_id, span_id = current_ids()
        if trace_id:
            entry["trace_id"] = trace_id
            entry["span_id"] = span_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


def configure_logging(level: str = "INFO", *, json_lines: bool = True) -> None:
    """Install one stderr handler on the root logger (idempotent: replaces ours)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_koppel", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._koppel = True  # type: ignore[attr-defined]
    handler.addFilter(RedactingFilter())
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level.upper())
