"""A python-telegram-bot request backend that talks to a FakeTelegram in the same process."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote, urlsplit

from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from bot.emulator.core import TIMED_OUT, ApiError, FakeTelegram, Files


class ConnectionLost(Exception):
    """An injected failure that breaks the connection instead of answering."""

    def __init__(self, error: ApiError) -> None:
        super().__init__(error.description)
        self.timed_out = error.error_code == TIMED_OUT


def error_body(error: ApiError) -> tuple[int, bytes]:
    """The HTTP status and JSON body Telegram answers an error with."""
    if error.error_code <= 0:
        raise ConnectionLost(error)
    body: dict[str, Any] = {
        "ok": False,
        "error_code": error.error_code,
        "description": error.description,
    }
    if error.retry_after is not None:
        body["parameters"] = {"retry_after": error.retry_after}
    if error.migrate_to_chat_id is not None:
        body["parameters"] = {"migrate_to_chat_id": error.migrate_to_chat_id}
    return error.error_code, json.dumps(body, ensure_ascii=False).encode()


def _token_and_rest(path: str, marker: str) -> tuple[str, str] | None:
    """Split ".../bot<token>/<rest>" (marker "/bot") into token and rest."""
    if marker not in path:
        return None
    token, _, rest = path.split(marker, 1)[1].partition("/")
    return token, rest


def parse_url(url: str) -> tuple[str, str, str] | None:
    """("call", token, method) or ("file", token, file_path) for a Bot API URL, else None."""
    path = unquote(urlsplit(url).path)
    download = _token_and_rest(path, "/file/bot")
    if download is not None:
        return "file", *download
    call = _token_and_rest(path, "/bot")
    if call is None or not call[1] or "/" in call[1]:
        return None
    return "call", *call


async def answer(
    fake: FakeTelegram, url: str, params: dict[str, Any], files: Files
) -> tuple[int, bytes]:
    """Route one HTTP request of the Bot API (a method call or a file download) to the fake.

    Raises ConnectionLost for injected network failures.
    """
    route = parse_url(url)
    if route is None:
        return error_body(ApiError(404, "Not Found"))
    kind, token, rest = route
    if token != fake.token:
        return error_body(ApiError(401, "Unauthorized"))
    try:
        if kind == "file":
            return 200, fake.file_bytes(rest)
        result = await fake.call(rest, params, files)
    except ApiError as exc:
        return error_body(exc)
    body = {"ok": True, "result": result}
    try:
        return 200, json.dumps(body, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        # A lone surrogate in a text: Telegram sends it as a \uXXXX escape, so does this.
        return 200, json.dumps(body).encode()


def _files(request_data: RequestData) -> Files:
    """The uploads of a request as (file name, bytes, MIME type) by multipart field name."""
    files: Files = {}
    for name, (filename, content, mime) in request_data.multipart_data.items():
        data = content if isinstance(content, bytes) else content.read()
        files[name] = (filename or name, data, mime or "application/octet-stream")
    return files


class EmulatorRequest(BaseRequest):
    """Every Bot API call answered by the FakeTelegram, without a socket."""

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake

    @property
    def read_timeout(self) -> float | None:
        """No socket to time out: long polls end by the fake's own `timeout`."""
        return None

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Answer the call as Telegram would: status code and JSON body."""
        params: dict[str, Any] = {}
        files: Files = {}
        if request_data is not None:
            # A round trip through JSON gives the fake exactly what Telegram would receive.
            params = json.loads(json.dumps(request_data.parameters))
            if request_data.contains_files:
                files = _files(request_data)
        try:
            return await answer(self.fake, url, params, files)
        except ConnectionLost as exc:
            if exc.timed_out:
                raise TimedOut(str(exc)) from exc
            raise NetworkError(str(exc)) from exc
