"""Native polls in the emulator, as the Bot API has them: sendPoll, stopPoll, people voting.

sendPoll checks what Telegram checks (a question of 1–300 characters, 2–10 options of 1–100
characters each) and answers a Message with a `poll`. A vote changes the counts and sends the
bot a `poll` update with the new state (Telegram sends these for the polls the bot sent), and a
`poll_answer` with the voter for a poll that is not anonymous; taking a vote back is a vote for
nothing. stopPoll closes a poll once (again: "poll has already been closed") and answers the
final Poll, which is how the bot learns the closing state of a poll it stopped itself.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any, Protocol

QUESTION_LIMIT = 300
OPTION_LIMIT = 100
MIN_OPTIONS, MAX_OPTIONS = 2, 10


class _Fake(Protocol):
    """What the mixin uses of FakeTelegram."""

    bot: dict[str, Any]

    def _chat(self, params: dict[str, Any]) -> dict[str, Any]: ...
    def _chat_for(self, user_id: int, chat_id: int | None) -> dict[str, Any]: ...
    def _find(self, chat_id: int, message_id: int) -> dict[str, Any] | None: ...
    def _user(self, user_id: int) -> dict[str, Any]: ...
    def _markup(self, value: Any) -> dict[str, Any] | None: ...
    def _push(self, update: dict[str, Any]) -> dict[str, Any]: ...
    def _bot_says(
        self, chat: dict[str, Any], params: dict[str, Any], content: dict[str, Any], field: str
    ) -> dict[str, Any]: ...


def _error(description: str) -> Exception:
    from bot.emulator.core import ApiError

    return ApiError(400, f"Bad Request: {description}")


def _options(value: Any) -> list[str]:
    """The options as sent: InputPollOption objects (Bot API 7.3+) or plain strings."""
    from bot.emulator.core import _json_param

    found = _json_param(value, "options")
    if not isinstance(found, list):
        raise _error("can't parse options JSON object")
    texts = [str(o.get("text", "")) if isinstance(o, dict) else str(o) for o in found]
    if len(texts) < MIN_OPTIONS:
        raise _error("poll must have at least 2 option")
    if len(texts) > MAX_OPTIONS:
        raise _error("poll can't have more than 10 options")
    if any(not t.strip() or len(t) > OPTION_LIMIT for t in texts):
        raise _error("poll options length must not exceed 100")
    return texts


class PollsMixin:
    """sendPoll, stopPoll and votes for FakeTelegram."""

    _poll_ids = itertools.count(5_000_000_000_000_000_001)

    def _polls(self) -> dict[str, dict[str, Any]]:
        """Poll id -> {"poll", "chat_id", "message_id", "votes": {user: [options]}}."""
        return self.__dict__.setdefault("_poll_state", {})

    async def _m_sendpoll(self: Any, params: dict[str, Any], files: Any) -> Any:
        chat = self._chat(params)
        question = str(params.get("question") or "")
        if not question.strip():
            raise _error("poll question must be non-empty")
        if len(question) > QUESTION_LIMIT:
            raise _error("poll question length must not exceed 300")
        options = _options(params.get("options"))
        kind = params.get("type") or "regular"
        if kind not in ("regular", "quiz"):
            raise _error("poll type is invalid")
        anonymous = params.get("is_anonymous")
        anonymous = True if anonymous is None else anonymous in (True, "true", "True", 1)
        poll = {
            "id": str(next(PollsMixin._poll_ids)),
            "question": question,
            # Bot API 9.6: each option has a persistent id (kept when options change).
            "options": [
                {"text": text, "voter_count": 0, "persistent_id": str(i)}
                for i, text in enumerate(options)
            ],
            "total_voter_count": 0,
            "is_closed": False,
            "is_anonymous": anonymous,
            "type": kind,
            "allows_multiple_answers": params.get("allows_multiple_answers") in (True, "true"),
            "allows_revoting": params.get("allows_revoting") not in (False, "false"),
            "members_only": params.get("members_only") in (True, "true"),
        }
        content = {"poll": poll, "reply_markup": self._markup(params.get("reply_markup"))}
        message = self._bot_says(chat, params, content, "poll")
        self._polls()[poll["id"]] = {
            "poll": poll,
            "chat_id": chat["id"],
            "message_id": message["message_id"],
            "votes": {},
        }
        return message

    async def _m_stoppoll(self: Any, params: dict[str, Any], files: Any) -> Any:
        chat = self._chat(params)
        message = self._find(chat["id"], int(params.get("message_id") or 0))
        if message is None or "poll" not in message:
            raise _error("message with poll to stop not found")
        if message["from"]["id"] != self.bot["id"]:
            raise _error("message can't be edited")
        poll = message["poll"]
        if poll["is_closed"]:
            raise _error("poll has already been closed")
        poll["is_closed"] = True
        return poll

    def vote(
        self: Any, user_id: int, message_id: int, option_ids: list[int], *, chat_id: int
    ) -> dict[str, Any]:
        """The user votes in the poll of that message (no options: takes the vote back)."""
        chat = self._chat_for(user_id, chat_id)
        message = self._find(chat["id"], message_id)
        if message is None or "poll" not in message:
            raise ValueError("no poll in that message")
        poll = message["poll"]
        if poll["is_closed"]:
            raise ValueError("the poll is closed")
        if len(option_ids) > 1 and not poll["allows_multiple_answers"]:
            raise ValueError("one option only")
        if any(not 0 <= i < len(poll["options"]) for i in option_ids):
            raise ValueError("no such option")
        votes = self._polls()[poll["id"]]["votes"]
        if user_id in votes and not poll["allows_revoting"]:
            raise ValueError("this poll does not allow changing a vote")
        for i in votes.pop(user_id, []):
            poll["options"][i]["voter_count"] -= 1
        if option_ids:
            votes[user_id] = list(option_ids)
            for i in option_ids:
                poll["options"][i]["voter_count"] += 1
        poll["total_voter_count"] = len(votes)
        if not poll["is_anonymous"]:
            self._push(
                {
                    "poll_answer": {
                        "poll_id": poll["id"],
                        "user": self._user(user_id),
                        "option_ids": list(option_ids),
                        "option_persistent_ids": [
                            poll["options"][i]["persistent_id"] for i in option_ids
                        ],
                    }
                }
            )
        return self._push({"poll": copy.deepcopy(poll)})
