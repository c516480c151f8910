"""Structured logs (structlog), with secrets and personal data kept out."""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

# Keys whose values never reach a log line.
_SECRET_KEYS = frozenset({"secret", "webhook_secret", "access_token", "token", "password", "authorization",
                          "hmac", "api_secret", "email", "phone", "address", "payload", "body"})


def _redact(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    for key in list(event):
        if key.lower() in _SECRET_KEYS:
            event[key] = "[redacted]"
    return event


def _plain(_logger: Any, _name: str, event: dict[str, Any]) -> str:
    """``warning: shopify_deprecated_request (endpoint=..., version=...)``: for a person at a terminal."""
    level = event.pop("level", "info")
    event.pop("timestamp", None)
    text = f"{level}: {event.pop('event', '')}"
    if event:
        text += " (" + ", ".join(f"{k}={v}" for k, v in event.items()) + ")"
    return text


def configure(level: str = "INFO", json: bool = True, *, plain: bool = False) -> None:
    """Services log JSON (or structlog's console lines); ``plain`` is the short form commands use."""
    numeric = getattr(logging, level, logging.INFO)
    logging.basicConfig(stream=sys.stderr, level=numeric, format="%(levelname)s: %(message)s" if plain
                        else "%(message)s")
    logging.getLogger().setLevel(numeric)  # basicConfig configures once; the level follows each call
    for chatty in ("alembic", "httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(max(numeric, logging.WARNING))
    renderer: Any = (_plain if plain else structlog.processors.JSONRenderer() if json
                     else structlog.dev.ConsoleRenderer(colors=False))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level, logging.INFO)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
