"""Native polls in the emulator, through a real telegram.Bot: sendPoll's limits, votes as Poll
and PollAnswer updates, stopPoll once."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot, Update
from telegram.error import BadRequest

from bot.emulator.core import FakeTelegram
from bot.emulator.request import EmulatorRequest

TOKEN = "123456:EMULATOR"
GROUP = -100500
VOTERS = (71, 72)


@pytest.fixture
def fake() -> FakeTelegram:
    emulator = FakeTelegram(token=TOKEN)
    emulator.add_group(GROUP, "群")
    for user in VOTERS:
        emulator.add_user(user)
        emulator.set_member(GROUP, user, "member")
    return emulator


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(
        TOKEN, request=EmulatorRequest(fake), get_updates_request=EmulatorRequest(fake)
    ) as b:
        yield b


async def test_send_poll_checks_what_telegram_checks(bot: Bot) -> None:
    with pytest.raises(BadRequest, match="at least 2 option"):
        await bot.send_poll(GROUP, "问题", ["一"])
    with pytest.raises(BadRequest, match="more than 10 options"):
        await bot.send_poll(GROUP, "问题", [str(i) for i in range(11)])
    with pytest.raises(BadRequest, match="question length must not exceed 300"):
        await bot.send_poll(GROUP, "问" * 301, ["一", "二"])
    with pytest.raises(BadRequest, match="options length must not exceed 100"):
        await bot.send_poll(GROUP, "问题", ["一" * 101, "二"])
    message = await bot.send_poll(GROUP, "问" * 300, ["一", "二"], is_anonymous=True)
    assert message.poll is not None and message.poll.is_anonymous
    assert [o.text for o in message.poll.options] == ["一", "二"]


async def test_votes_arrive_as_updates_and_stop_poll_closes_once(
    bot: Bot, fake: FakeTelegram
) -> None:
    anonymous = await bot.send_poll(GROUP, "匿名", ["甲", "乙"], is_anonymous=True)
    named = await bot.send_poll(GROUP, "记名", ["甲", "乙"], is_anonymous=False)
    fake.vote(VOTERS[0], anonymous.message_id, [1], chat_id=GROUP)
    fake.vote(VOTERS[1], anonymous.message_id, [1], chat_id=GROUP)
    fake.vote(VOTERS[1], anonymous.message_id, [], chat_id=GROUP)  # taken back
    fake.vote(VOTERS[0], named.message_id, [0], chat_id=GROUP)
    updates = [Update.de_json(u, bot) for u in await fake.call("getUpdates", {})]
    polls = [u.poll for u in updates if u.poll]
    assert [[o.voter_count for o in p.options] for p in polls] == [[0, 1], [0, 2], [0, 1], [1, 0]]
    # Anonymous: the voter is never told; a named poll's answer names them.
    [answer] = [u.poll_answer for u in updates if u.poll_answer]
    assert answer.user is not None and answer.user.id == VOTERS[0]
    assert answer.option_ids == (0,)
    final = await bot.stop_poll(GROUP, anonymous.message_id)
    assert final.is_closed and final.total_voter_count == 1
    with pytest.raises(BadRequest, match="Poll has already been closed"):
        await bot.stop_poll(GROUP, anonymous.message_id)
    with pytest.raises(ValueError, match="closed"):
        fake.vote(VOTERS[1], anonymous.message_id, [0], chat_id=GROUP)
    text = await bot.send_message(GROUP, "不是投票")
    with pytest.raises(BadRequest, match="Message with poll to stop not found"):
        await bot.stop_poll(GROUP, text.message_id)
