"""A python-telegram-bot request backend that talks to a FakeTelegram in the same process."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote, urlsplit

from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import ODVInput
from telegram.request import BaseRequest, RequestData

from bot.emulator.core import ApiError, FakeTelegram


def error_body(error: ApiError) -> tuple[int, bytes]:
    """The HTTP status and JSON body Telegram answers an error with."""
    body: dict[str, Any] = {
        "ok": False,
        "error_code": error.error_code,
        "description": error.description,
    }
    if error.retry_after is not None:
        body["parameters"] = {"retry_after": error.retry_after}
    return error.error_code, json.dumps(body, ensure_ascii=False).encode()


async def answer(
    fake: FakeTelegram,
    url: str,
    params: dict[str, Any],
    files: dict[str, tuple[str, bytes, str]],
) -> tuple[int, bytes]:
    """Route one HTTP request of the Bot API (a method call or a file download) to the fake."""
    path = unquote(urlsplit(url).path)
    if "/file/bot" in path:
        token_and_path = path.split("/file/bot", 1)[1]
        token, _, file_path = token_and_path.partition("/")
        if token != fake.token:
            return error_body(ApiError(401, "Unauthorized"))
        try:
            return 200, fake.file_bytes(file_path)
        except ApiError as exc:
            return error_body(exc)
    head, _, method = path.rpartition("/")
    token = head.rsplit("/bot", 1)[-1] if "/bot" in head else ""
    if token != fake.token:
        return error_body(ApiError(401, "Unauthorized"))
    try:
        result = await fake.call(method, params, files)
    except ApiError as exc:
        return error_body(exc)
    return 200, json.dumps({"ok": True, "result": result}, ensure_ascii=False).encode()


class EmulatorRequest(BaseRequest):
    """Every Bot API call answered by the FakeTelegram, without a socket."""

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake

    @property
    def read_timeout(self) -> float | None:
        """Long polls are answered by the fake's own timeout."""
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
        files: dict[str, tuple[str, bytes, str]] = {}
        if request_data is not None:
            # A round trip through JSON gives the fake exactly what Telegram would receive.
            params = json.loads(json.dumps(request_data.parameters))
            if request_data.contains_files:
                for name, (filename, content, mime) in request_data.multipart_data.items():
                    data = content if isinstance(content, bytes) else content.read()
                    files[name] = (filename or name, data, mime or "application/octet-stream")
        return await answer(self.fake, url, params, files)
