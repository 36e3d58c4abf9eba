"""The emulator over real HTTP on loopback, for a bot running as a separate process."""

from __future__ import annotations

import asyncio
import contextlib
import json
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bot.emulator.core import FakeTelegram
from bot.emulator.request import answer

# Parameters that Telegram takes as strings even when they look like numbers.
_STRING_PARAMS = frozenset(
    {"text", "caption", "callback_query_id", "parse_mode", "file_id", "url", "description"}
)
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
            404: "Not Found", 429: "Too Many Requests", 500: "Internal Server Error"}  # fmt: skip


def _decode(name: str, value: str) -> Any:
    if name in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def parse_body(
    content_type: str, body: bytes
) -> tuple[dict[str, Any], dict[str, tuple[str, bytes, str]]]:
    """Parameters and files of a Bot API request body, in any form PTB or curl sends."""
    params: dict[str, Any] = {}
    files: dict[str, tuple[str, bytes, str]] = {}
    if content_type.startswith("application/json") and body:
        params = json.loads(body)
    elif content_type.startswith("multipart/form-data"):
        message = BytesParser(policy=HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + body
        )
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            filename = part.get_filename()
            if filename is not None:
                files[str(name)] = (filename, payload, part.get_content_type())
            else:
                params[str(name)] = _decode(str(name), payload.decode("utf-8"))
    elif body:
        for name, value in parse_qsl(body.decode("utf-8"), keep_blank_values=True):
            params[name] = _decode(name, value)
    return params, files


class EmulatorServer:
    """Serves a FakeTelegram at http://127.0.0.1:PORT/bot<token>/<method>."""

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def api_base_url(self) -> str:
        """The value for [telegram] api_base_url."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def file_base_url(self) -> str:
        """The value for [telegram] api_base_file_url."""
        return f"http://127.0.0.1:{self.port}/file/bot"

    async def start(self, port: int = 0) -> str:
        """Listen on loopback; returns the api_base_url."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.api_base_url

    async def stop(self) -> None:
        """Stop listening and close open connections."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(AttributeError):
                self._server.close_clients()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request_line = await reader.readline()
                if not request_line:
                    break
                _, target, _ = request_line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    key, _, value = line.decode("latin-1").partition(":")
                    headers[key.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                params, files = parse_body(headers.get("content-type", ""), body)
                query = urlsplit(target).query
                params.update({k: _decode(k, v) for k, v in parse_qsl(query)})
                status, payload = await answer(self.fake, target, params, files)
                kind = "application/json" if payload[:1] == b"{" else "application/octet-stream"
                writer.write(
                    f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
                    f"Content-Type: {kind}\r\nContent-Length: {len(payload)}\r\n\r\n".encode()
                    + payload
                )
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass  # the client went away or sent garbage: drop the connection
        finally:
            writer.close()
