"""An in-memory stand-in for the Telegram Bot API: what the bot calls, and what phones send."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.emulator.html import HtmlError, parse_html

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_ANSWER_TEXT = 200
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)


class ApiError(Exception):
    """An error answer of the Bot API."""

    def __init__(self, error_code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after


@dataclass
class _Failure:
    error_code: int
    description: str
    retry_after: int | None
    times: int


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class FakeTelegram:
    """The Bot API's state for one bot: chats, messages, files and the update queue."""

    def __init__(
        self,
        *,
        token: str = "123456:EMULATOR",
        bot_id: int = 123456,
        bot_username: str = "zhishu_demo_bot",
        bot_first_name: str = "支书助手",
    ) -> None:
        self.token = token
        self.bot = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.users: dict[int, dict[str, Any]] = {}
        self.chats: dict[int, dict[str, Any]] = {}
        self._messages: dict[int, list[dict[str, Any]]] = {}
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._open_queries: dict[str, int] = {}
        self._files: dict[str, tuple[str, bytes]] = {}
        self._failures: dict[str, _Failure] = {}
        self._blocked: set[int] = set()
        self._new_update = asyncio.Event()
        self._subscribers: list[Callable[[str, dict[str, Any]], None]] = []
        self.update_count = 0
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.callback_answers: list[dict[str, Any]] = []
        self.commands: dict[str, list[dict[str, Any]]] = {}

    # ---- what phones do -------------------------------------------------------------------

    def add_user(
        self,
        user_id: int,
        first_name: str = "测试",
        username: str | None = None,
        language_code: str = "zh-hans",
    ) -> dict[str, Any]:
        """A Telegram user with a private chat with the bot."""
        user = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            user["username"] = username
        user["language_code"] = language_code
        self.users[user_id] = user
        self.chats.setdefault(
            user_id, {"id": user_id, "type": "private", "first_name": first_name}
        )
        return user

    def add_group(self, chat_id: int, title: str) -> dict[str, Any]:
        """A group chat the bot is in."""
        chat = {"id": chat_id, "type": "supergroup" if chat_id < -10**12 else "group",
                "title": title}  # fmt: skip
        self.chats[chat_id] = chat
        return chat

    def block(self, user_id: int) -> None:
        """The user blocked the bot: sends to their chat fail with 403."""
        self._blocked.add(user_id)

    def fail_next(
        self,
        method: str,
        *,
        error_code: int,
        description: str,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next `times` calls of a method fail with this error."""
        self._failures[method.lower()] = _Failure(error_code, description, retry_after, times)

    def _user(self, user_id: int) -> dict[str, Any]:
        return self.users.get(user_id) or self.add_user(user_id)

    def _push(self, update: dict[str, Any]) -> dict[str, Any]:
        update["update_id"] = next(self._update_ids)
        self._updates.append(update)
        self.update_count += 1
        self._new_update.set()
        return update

    def _user_message(self, user_id: int, chat_id: int | None, **content: Any) -> dict[str, Any]:
        user = self._user(user_id)
        chat = self.chats[chat_id if chat_id is not None else user_id]
        message = {
            "message_id": self._next_message_id(chat["id"]),
            "from": user,
            "chat": chat,
            "date": int(time.time()),
            **content,
        }
        self._messages.setdefault(chat["id"], []).append(message)
        return message

    def send_text(self, user_id: int, text: str, *, chat_id: int | None = None) -> dict[str, Any]:
        """The user sends a text (a leading /command gets its entity, as Telegram does)."""
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split()[0] if text.split() else text
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _utf16_len(command)}
            ]
        return self._push({"message": self._user_message(user_id, chat_id, **content)})

    def tap(
        self, user_id: int, message_id: int, callback_data: str, *, chat_id: int | None = None
    ) -> dict[str, Any]:
        """The user taps a button with this data on that message (any data: tests forge)."""
        chat = chat_id if chat_id is not None else user_id
        message = self._find(chat, message_id) or {
            "message_id": message_id,
            "chat": self.chats[chat],
            "date": 0,
            "from": self.bot,
            "text": "",
        }
        query_id = str(next(self._query_ids))
        self._open_queries[query_id] = user_id
        return self._push(
            {
                "callback_query": {
                    "id": query_id,
                    "from": self._user(user_id),
                    "message": message,
                    "chat_instance": str(chat),
                    "data": callback_data,
                }
            }
        )

    def tap_button(
        self,
        user_id: int,
        label_or_index: str | int,
        *,
        chat_id: int | None = None,
        message_id: int | None = None,
    ) -> dict[str, Any]:
        """Tap a button of the latest keyboard in the chat, by label or flat index."""
        chat = chat_id if chat_id is not None else user_id
        candidates = [m for m in self.bot_messages(chat) if m.get("reply_markup")]
        if message_id is not None:
            candidates = [m for m in candidates if m["message_id"] == message_id]
        if not candidates:
            raise LookupError("no message with buttons")
        message = candidates[-1]
        buttons = [b for row in message["reply_markup"]["inline_keyboard"] for b in row]
        if isinstance(label_or_index, int):
            button = buttons[label_or_index]
        else:
            matching = [b for b in buttons if b["text"] == label_or_index]
            if not matching:
                raise LookupError(
                    f"no button {label_or_index!r} in {[b['text'] for b in buttons]}"
                )
            button = matching[0]
        return self.tap(user_id, message["message_id"], button["callback_data"], chat_id=chat_id)

    def _store_file(self, name: str, data: bytes) -> dict[str, Any]:
        number = next(self._file_ids)
        file_id = f"F{number:06d}"
        self._files[file_id] = (f"files/{number}_{name}", data)
        return {"file_id": file_id, "file_unique_id": f"U{number:06d}", "file_size": len(data)}

    def send_photo(
        self, user_id: int, data: bytes, *, caption: str | None = None, chat_id: int | None = None
    ) -> dict[str, Any]:
        """The user sends a photo."""
        size = {**self._store_file("photo.jpg", data), "width": 640, "height": 480}
        content: dict[str, Any] = {"photo": [size]}
        if caption:
            content["caption"] = caption
        return self._push({"message": self._user_message(user_id, chat_id, **content)})

    def send_document(
        self,
        user_id: int,
        filename: str,
        data: bytes,
        *,
        mime_type: str = "application/octet-stream",
        caption: str | None = None,
        chat_id: int | None = None,
    ) -> dict[str, Any]:
        """The user sends a file."""
        document = {**self._store_file(filename, data), "file_name": filename,
                    "mime_type": mime_type}  # fmt: skip
        content: dict[str, Any] = {"document": document}
        if caption:
            content["caption"] = caption
        return self._push({"message": self._user_message(user_id, chat_id, **content)})

    def bot_added_to_group(self, user_id: int, chat_id: int, title: str) -> dict[str, Any]:
        """A user adds the bot to a group."""
        chat = self.add_group(chat_id, title)
        self._push(
            {
                "my_chat_member": {
                    "chat": chat,
                    "from": self._user(user_id),
                    "date": int(time.time()),
                    "old_chat_member": {"status": "left", "user": self.bot},
                    "new_chat_member": {"status": "member", "user": self.bot},
                }
            }
        )
        return self._push(
            {"message": self._user_message(user_id, chat_id, new_chat_members=[self.bot])}
        )

    # ---- what tests look at ---------------------------------------------------------------

    def messages(self, chat_id: int) -> list[dict[str, Any]]:
        """Every message now shown in the chat (edits applied, deleted ones gone)."""
        return list(self._messages.get(chat_id, []))

    def bot_messages(self, chat_id: int) -> list[dict[str, Any]]:
        """The bot's messages now shown in the chat."""
        return [m for m in self._messages.get(chat_id, []) if m["from"]["id"] == self.bot["id"]]

    def last_bot_message(self, chat_id: int) -> dict[str, Any] | None:
        """The bot's latest message in the chat."""
        messages = self.bot_messages(chat_id)
        return messages[-1] if messages else None

    def pending_updates(self) -> int:
        """Updates the bot has not confirmed yet."""
        return len(self._updates)

    def subscribe(self, callback: Callable[[str, dict[str, Any]], None]) -> None:
        """Call back on every new, edited or deleted bot message."""
        self._subscribers.append(callback)

    def file_bytes(self, file_path: str) -> bytes:
        """The content of a file by its path."""
        for path, data in self._files.values():
            if path == file_path:
                return data
        raise ApiError(404, "Not Found")

    # ---- the Bot API ----------------------------------------------------------------------

    async def call(
        self,
        method: str,
        params: dict[str, Any],
        files: dict[str, tuple[str, bytes, str]] | None = None,
    ) -> Any:
        """Answer one Bot API call, or raise ApiError as Telegram would."""
        name = method.lower()
        self.calls.append((method, params))
        failure = self._failures.get(name)
        if failure:
            failure.times -= 1
            if failure.times <= 0:
                del self._failures[name]
            raise ApiError(failure.error_code, failure.description, failure.retry_after)
        handler = getattr(self, f"_m_{name}", None)
        if handler is None:
            raise ApiError(404, "Not Found")
        return await handler(params, files or {})

    def _notify(self, event: str, message: dict[str, Any]) -> None:
        for callback in self._subscribers:
            callback(event, message)

    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _chat(self, params: dict[str, Any]) -> dict[str, Any]:
        try:
            chat_id = int(params.get("chat_id", 0))
        except (TypeError, ValueError):
            raise ApiError(400, "Bad Request: chat not found") from None
        chat = self.chats.get(chat_id)
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _find(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        for message in self._messages.get(chat_id, []):
            if message["message_id"] == message_id:
                return message
        return None

    def _bot_message(self, params: dict[str, Any], missing: str) -> dict[str, Any]:
        chat = self._chat(params)
        message = self._find(chat["id"], int(params.get("message_id", 0)))
        if message is None or message["from"]["id"] != self.bot["id"]:
            raise ApiError(400, f"Bad Request: {missing}")
        return message

    @staticmethod
    def _check_text(text: Any, parse_mode: Any, limit: int, *, caption: bool) -> str:
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        visible = text
        if parse_mode == "HTML":
            try:
                visible = parse_html(text)
            except HtmlError as exc:
                raise ApiError(400, str(exc)) from None
        elif parse_mode not in (None, ""):
            raise ApiError(400, f"Bad Request: unsupported parse_mode {parse_mode}")
        if not caption and not visible.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if _utf16_len(visible) > limit:
            what = "caption" if caption else "text"
            raise ApiError(400, f"Bad Request: message {what} is too long")
        return text

    @staticmethod
    def _check_markup(markup: Any) -> dict[str, Any] | None:
        if not markup:
            return None
        if isinstance(markup, str):
            import json

            markup = json.loads(markup)
        rows = markup.get("inline_keyboard")
        if rows is None:
            return markup
        for row in rows:
            for button in row:
                if not button.get("text"):
                    raise ApiError(
                        400, "Bad Request: text buttons are unallowed in the inline keyboard"
                    )
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                if data is None and not button.get("url"):
                    raise ApiError(400, "Bad Request: can't parse inline keyboard button")
        return markup

    def _bot_says(self, chat: dict[str, Any], **content: Any) -> dict[str, Any]:
        message = {
            "message_id": self._next_message_id(chat["id"]),
            "from": self.bot,
            "chat": chat,
            "date": int(time.time()),
            **{k: v for k, v in content.items() if v is not None},
        }
        self._messages.setdefault(chat["id"], []).append(message)
        self._notify("new", message)
        return message

    async def _m_getme(self, params: dict[str, Any], files: Any) -> Any:
        return self.bot

    async def _m_getupdates(self, params: dict[str, Any], files: Any) -> Any:
        offset = int(params.get("offset") or 0)
        if offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        if not self._updates and timeout > 0:
            self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), timeout)
        return self._updates[:limit]

    async def _m_deletewebhook(self, params: dict[str, Any], files: Any) -> Any:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _m_getwebhookinfo(self, params: dict[str, Any], files: Any) -> Any:
        return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}

    async def _m_setmycommands(self, params: dict[str, Any], files: Any) -> Any:
        commands = params.get("commands") or []
        for command in commands:
            if not 1 <= len(command.get("description", "")) <= 256:
                raise ApiError(400, "Bad Request: command description is invalid")
        self.commands[str(params.get("scope", "default"))] = list(commands)
        return True

    async def _m_getmycommands(self, params: dict[str, Any], files: Any) -> Any:
        return self.commands.get(str(params.get("scope", "default")), [])

    async def _m_deletemycommands(self, params: dict[str, Any], files: Any) -> Any:
        self.commands.pop(str(params.get("scope", "default")), None)
        return True

    async def _m_setchatmenubutton(self, params: dict[str, Any], files: Any) -> Any:
        return True

    async def _m_sendchataction(self, params: dict[str, Any], files: Any) -> Any:
        self._chat(params)
        return True

    async def _m_sendmessage(self, params: dict[str, Any], files: Any) -> Any:
        chat = self._chat(params)
        text = self._check_text(params.get("text"), params.get("parse_mode"), MAX_TEXT,
                                caption=False)  # fmt: skip
        markup = self._check_markup(params.get("reply_markup"))
        return self._bot_says(chat, text=text, reply_markup=markup)

    def _edit(
        self, message: dict[str, Any], markup: dict[str, Any] | None, **content: str
    ) -> dict[str, Any]:
        """Apply an edit, refusing one that changes nothing (as Telegram does)."""
        same = all(message.get(k, "") == v for k, v in content.items())
        if same and message.get("reply_markup") == markup:
            raise ApiError(400, NOT_MODIFIED)
        message.update(content)
        message.pop("reply_markup", None)
        if markup:
            message["reply_markup"] = markup
        message["edit_date"] = int(time.time())
        self._notify("edit", message)
        return message

    async def _m_editmessagetext(self, params: dict[str, Any], files: Any) -> Any:
        message = self._bot_message(params, "message to edit not found")
        text = self._check_text(
            params.get("text"), params.get("parse_mode"), MAX_TEXT, caption=False
        )
        return self._edit(message, self._check_markup(params.get("reply_markup")), text=text)

    async def _m_editmessagereplymarkup(self, params: dict[str, Any], files: Any) -> Any:
        message = self._bot_message(params, "message to edit not found")
        return self._edit(message, self._check_markup(params.get("reply_markup")))

    async def _m_editmessagecaption(self, params: dict[str, Any], files: Any) -> Any:
        message = self._bot_message(params, "message to edit not found")
        caption = self._check_text(
            params.get("caption", ""), params.get("parse_mode"), MAX_CAPTION, caption=True
        )
        return self._edit(message, self._check_markup(params.get("reply_markup")), caption=caption)

    async def _m_deletemessage(self, params: dict[str, Any], files: Any) -> Any:
        message = self._bot_message(params, "message to delete not found")
        self._messages[message["chat"]["id"]].remove(message)
        self._notify("delete", message)
        return True

    async def _m_answercallbackquery(self, params: dict[str, Any], files: Any) -> Any:
        query_id = str(params.get("callback_query_id"))
        if self._open_queries.pop(query_id, None) is None:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is "
                "invalid",
            )
        if len(params.get("text") or "") > MAX_ANSWER_TEXT:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self.callback_answers.append(dict(params))
        return True

    def _upload(self, params: dict[str, Any], files: dict[str, tuple[str, bytes, str]],
                field: str) -> tuple[str, bytes]:  # fmt: skip
        value = params.get(field)
        if isinstance(value, str) and value.startswith("attach://"):
            value = value[len("attach://") :]
        if isinstance(value, str) and value in files:
            name, data, _ = files[value]
            return name, data
        if field in files:
            name, data, _ = files[field]
            return name, data
        if isinstance(value, str) and value in self._files:
            path, data = self._files[value]
            return path.rsplit("/", 1)[-1], data
        raise ApiError(400, f"Bad Request: there is no {field} in the request")

    def _send_media(
        self, params: dict[str, Any], files: dict[str, tuple[str, bytes, str]], field: str
    ) -> dict[str, Any]:
        """sendDocument / sendPhoto: store the upload and show it in the chat."""
        chat = self._chat(params)
        name, data = self._upload(params, files, field)
        caption = self._check_text(
            params.get("caption", ""), params.get("parse_mode"), MAX_CAPTION, caption=True
        )
        stored = self._store_file(name, data)
        media: Any = (
            {**stored, "file_name": name}
            if field == "document"
            else [{**stored, "width": 640, "height": 480}]
        )
        markup = self._check_markup(params.get("reply_markup"))
        return self._bot_says(chat, caption=caption or None, reply_markup=markup, **{field: media})

    async def _m_senddocument(self, params: dict[str, Any], files: Any) -> Any:
        return self._send_media(params, files, "document")

    async def _m_sendphoto(self, params: dict[str, Any], files: Any) -> Any:
        return self._send_media(params, files, "photo")

    async def _m_getfile(self, params: dict[str, Any], files: Any) -> Any:
        file_id = str(params.get("file_id"))
        if file_id not in self._files:
            raise ApiError(400, "Bad Request: invalid file_id")
        path, data = self._files[file_id]
        return {"file_id": file_id, "file_unique_id": "U" + file_id[1:], "file_size": len(data),
                "file_path": path}  # fmt: skip

    async def _m_getchat(self, params: dict[str, Any], files: Any) -> Any:
        chat = self._chat(params)
        return {**chat, "accent_color_id": 0, "max_reaction_count": 11}

    async def _m_getchatmember(self, params: dict[str, Any], files: Any) -> Any:
        self._chat(params)
        user = self._user(int(params.get("user_id", 0)))
        return {"status": "member", "user": user}

    async def _m_getchatadministrators(self, params: dict[str, Any], files: Any) -> Any:
        self._chat(params)
        return []

    async def _m_pinchatmessage(self, params: dict[str, Any], files: Any) -> Any:
        self._bot_message(params, "message to pin not found")
        return True

    async def _m_leavechat(self, params: dict[str, Any], files: Any) -> Any:
        self._chat(params)
        return True

    async def _m_close(self, params: dict[str, Any], files: Any) -> Any:
        return True

    async def _m_logout(self, params: dict[str, Any], files: Any) -> Any:
        return True
