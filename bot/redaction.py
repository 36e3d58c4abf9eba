"""The bot token never reaches a log line or a printed traceback.

python-telegram-bot puts the token in every request URL (`…/bot<token>/sendMessage`), and httpx
logs those URLs; an exception raised while a request fails can carry them too. The token is
masked where log records are made, so every logger (telegram, httpx, httpcore, asyncio, ours)
and every handler, including ones added later, only ever sees `123456:***`.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Iterable
from types import TracebackType
from typing import Any

MASK = "***"
# A secret this short would mask ordinary words; real tokens have 35 characters after the colon.
_MIN_SECRET = 6
_BASE_FACTORY = logging.getLogRecordFactory()
_BASE_EXCEPTHOOK = sys.excepthook


class Redactor:
    """Replaces the secret part of each token (what follows the bot id) with ***."""

    def __init__(self, tokens: Iterable[str]) -> None:
        secrets = set()
        for token in filter(None, tokens):
            _, _, secret = token.partition(":")
            secrets.add(secret if len(secret) >= _MIN_SECRET else token)
        # Longest first, so that a secret containing another is masked whole.
        self._secrets = sorted(secrets, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        """The text with every secret masked."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def record(self, record: logging.LogRecord) -> None:
        """Mask the message, its arguments and its traceback in place."""
        try:
            message = record.getMessage()
        except Exception:  # a malformed call is reported by the handler, still masked
            message = f"{record.msg} {record.args!r}"
        record.msg, record.args = self(message), ()
        if record.exc_info and not record.exc_text:
            # Formatters use exc_text when it is set instead of formatting exc_info again.
            record.exc_text = self(logging.Formatter().formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = self(record.stack_info)


def install(tokens: Iterable[str]) -> Redactor:
    """Mask the tokens in every log record and uncaught traceback from now on (idempotent)."""
    redactor = Redactor(tokens)

    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = _BASE_FACTORY(*args, **kwargs)
        redactor.record(record)
        return record

    def excepthook(
        kind: type[BaseException], error: BaseException, trace: TracebackType | None
    ) -> None:
        sys.stderr.write(redactor("".join(traceback.format_exception(kind, error, trace))))

    logging.setLogRecordFactory(make_record)
    sys.excepthook = excepthook
    return redactor


def uninstall() -> None:
    """Back to the standard record factory and excepthook (tests)."""
    logging.setLogRecordFactory(_BASE_FACTORY)
    sys.excepthook = _BASE_EXCEPTHOOK
