"""The emulator over real HTTP on loopback, for a bot running as a separate process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from email.parser import BytesParser
from email.policy import HTTP
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bot.emulator.core import FakeTelegram, Files
from bot.emulator.request import ConnectionLost, answer

# PTB sends strings raw and everything else JSON encoded, so "123" could be either: these
# parameters are strings in the Bot API and must stay strings even when they look like numbers.
STRING_PARAMS = frozenset(
    {"text", "caption", "callback_query_id", "parse_mode", "file_id", "url", "description",
     "short_description", "name", "title", "first_name", "last_name", "username", "query",
     "inline_query_id", "result_id", "inline_message_id", "business_connection_id",
     "message_effect_id", "custom_emoji_id", "emoji", "question", "explanation", "address",
     "phone_number", "vcard", "action", "language_code", "secret_token", "ip_address",
     "document", "photo", "video", "audio", "voice", "animation", "sticker", "thumbnail",
     "media", "payload", "currency", "provider_token", "start_parameter", "game_short_name",
     "sticker_set_name", "invite_link", "switch_pm_text", "switch_pm_parameter", "next_offset",
     "shipping_query_id", "pre_checkout_query_id", "error_message"}
)  # fmt: skip
_MAX_BODY = 60 * 1024 * 1024
_LOGGER = logging.getLogger(__name__)


def decode_param(name: str, value: str) -> Any:
    """One form field back to its JSON value (strings that Telegram types as strings stay)."""
    if name == "chat_id":
        # Usually an int, but "@channelusername" is allowed too.
        return int(value) if value.lstrip("-").isdigit() else value
    if name in STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def parse_body(content_type: str, body: bytes) -> tuple[dict[str, Any], Files]:
    """Parameters and files of a Bot API request body, in any form PTB or curl sends."""
    params: dict[str, Any] = {}
    files: Files = {}
    if content_type.startswith("application/json"):
        if body:
            decoded = json.loads(body)
            if not isinstance(decoded, dict):
                raise ValueError("the JSON body must be an object")
            params = decoded
    elif content_type.startswith("multipart/form-data"):
        message = BytesParser(policy=HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + body
        )
        for part in message.iter_parts():
            name = str(part.get_param("name", header="content-disposition"))
            payload = part.get_payload(decode=True) or b""
            filename = part.get_filename()
            if filename is not None:
                files[name] = (filename, payload, part.get_content_type())
            else:
                params[name] = decode_param(name, payload.decode("utf-8"))
    elif body:
        for name, value in parse_qsl(body.decode("utf-8"), keep_blank_values=True):
            params[name] = decode_param(name, value)
    return params, files


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class EmulatorServer:
    """Serves a FakeTelegram at http://127.0.0.1:PORT/bot<token>/<method> (loopback only)."""

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake
        self.port = 0
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def api_base_url(self) -> str:
        """The value for [telegram] api_base_url (PTB's base_url)."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def file_base_url(self) -> str:
        """The value for [telegram] api_base_file_url (PTB's base_file_url)."""
        return f"http://127.0.0.1:{self.port}/file/bot"

    async def start(self, port: int = 0) -> str:
        """Listen on 127.0.0.1 (port 0: any free port); returns the api_base_url."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.api_base_url

    async def stop(self) -> None:
        """Stop listening and drop open connections (long polls included)."""
        if self._server is None:
            return
        self._server.close()
        for task in list(self._connections):
            task.cancel()
        # Python 3.12+ waits in wait_closed for the connections, which are being cancelled.
        await asyncio.gather(*self._connections, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    async def __aenter__(self) -> EmulatorServer:
        """Start on a free port."""
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Stop."""
        await self.stop()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while await self._one_request(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # the client went away mid-request
        except asyncio.CancelledError:
            pass  # the server is stopping
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _one_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Answer one request; False when the connection should be closed."""
        request_line = await reader.readline()
        if not request_line.strip():
            return False
        parts = request_line.decode("latin-1").split()
        if len(parts) != 3:
            await self._respond(writer, 400, b"bad request line", close=True)
            return False
        target, version = parts[1], parts[2]
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
            key, _, value = line.decode("latin-1").partition(":")
            headers[key.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0)
        if length > _MAX_BODY:
            await self._respond(writer, 413, b"", close=True)
            return False
        body = await reader.readexactly(length) if length else b""
        keep_alive = headers.get("connection", "").lower() != "close" and version == "HTTP/1.1"
        try:
            params, files = parse_body(headers.get("content-type", ""), body)
        except (ValueError, UnicodeDecodeError):
            error = b'{"ok":false,"error_code":400,"description":"Bad Request: invalid body"}'
            await self._respond(writer, 400, error, close=not keep_alive)
            return keep_alive
        # Query-string parameters count too (curl, or a GET with ?offset=...).
        for name, value in parse_qsl(urlsplit(target).query):
            params.setdefault(name, decode_param(name, value))
        try:
            status, payload = await answer(self.fake, target, params, files)
        except ConnectionLost:
            return False  # an injected network failure: hang up without answering
        except Exception as exc:
            # An emulator bug must show up as a failed call, not a silently dead connection.
            _LOGGER.exception("Emulator failed on %s", urlsplit(target).path.rsplit("/", 1)[-1])
            status, payload = (
                500,
                json.dumps(
                    {
                        "ok": False,
                        "error_code": 500,
                        "description": f"Internal Server Error: {exc}",
                    }
                ).encode(),
            )
        await self._respond(writer, status, payload, close=not keep_alive)
        return keep_alive

    @staticmethod
    async def _respond(
        writer: asyncio.StreamWriter, status: int, payload: bytes, *, close: bool
    ) -> None:
        kind = "application/json" if payload[:1] == b"{" else "application/octet-stream"
        head = (
            f"HTTP/1.1 {status} {_reason(status)}\r\n"
            f"Content-Type: {kind}\r\nContent-Length: {len(payload)}\r\n"
            f"Connection: {'close' if close else 'keep-alive'}\r\n\r\n"
        )
        writer.write(head.encode("latin-1") + payload)
        await writer.drain()
