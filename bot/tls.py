"""Telegram's TLS context, its CA bundle read on a thread of its own while the bot imports.

Reading the bundle takes 30–55 ms and OpenSSL lets go of the interpreter while it reads, so
`python -m bot` starts it before the imports (`read_ahead`) and the Application takes the result
when it builds its connection pools (`context`). Anything else (the tests, the demo, an
Application built twice) reads it in place, as python-telegram-bot would.
"""

from __future__ import annotations

import os
import ssl
import threading
from concurrent.futures import Future

_ahead: Future[ssl.SSLContext] | None = None


def _where() -> tuple[str | None, str | None]:
    """The CA file or folder httpx.create_ssl_context() reads by default."""
    if os.environ.get("SSL_CERT_FILE"):
        return os.environ["SSL_CERT_FILE"], None
    if os.environ.get("SSL_CERT_DIR"):
        return None, os.environ["SSL_CERT_DIR"]
    import certifi

    return certifi.where(), None


def _read(cafile: str | None, capath: str | None) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=cafile, capath=capath)


def read_ahead() -> None:
    """Start reading the CA bundle beside whatever the process does next."""
    global _ahead
    if _ahead is not None:
        return
    where = _where()
    ahead: Future[ssl.SSLContext] = Future()

    def work() -> None:
        try:
            ahead.set_result(_read(*where))
        except BaseException as exc:  # handed to whoever asks for the context
            ahead.set_exception(exc)

    threading.Thread(target=work, name="tls-read-ahead", daemon=True).start()
    _ahead = ahead


def context() -> ssl.SSLContext:
    """The context read ahead (once), or one read now."""
    global _ahead
    ahead, _ahead = _ahead, None
    if ahead is not None:
        return ahead.result()
    return _read(*_where())
