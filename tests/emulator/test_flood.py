"""The emulator's optional flood limits answer 429 with retry_after, as Telegram does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from telegram import Bot
from telegram.error import BadRequest, Forbidden, RetryAfter

from bot.emulator.core import FakeTelegram
from bot.emulator.request import EmulatorRequest

# Every RetryAfter that python-telegram-bot 22 builds warns that retry_after becomes a timedelta.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
TOKEN = "123456:EMULATOR"
USERS = list(range(101, 111))
GROUP = -100500


@pytest.fixture
def fake() -> FakeTelegram:
    emulator = FakeTelegram(token=TOKEN)
    for user in USERS:
        emulator.add_user(user)
    emulator.add_group(GROUP, "支部群")
    return emulator


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, request=EmulatorRequest(fake)) as b:
        yield b


def _seconds(error: RetryAfter) -> int:
    return int(error._retry_after.total_seconds())


async def test_off_by_default(bot: Bot, fake: FakeTelegram) -> None:
    for _ in range(40):
        await bot.send_message(USERS[0], "x")
    assert fake.flood_refusals == 0


async def test_overall_rate(bot: Bot, fake: FakeTelegram) -> None:
    fake.set_flood_limit(per_second=5, per_chat_per_second=None, per_group_per_minute=None)
    for user in USERS[:5]:
        await bot.send_message(user, "x")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(USERS[5], "x")
    assert _seconds(caught.value) == 1
    assert fake.flood_refusals == 1
    assert fake.bot_messages(USERS[5]) == []
    await asyncio.sleep(0.25)  # one send's room comes back every 0.2 s
    await bot.send_message(USERS[5], "x")
    with pytest.raises(RetryAfter):
        await bot.send_message(USERS[6], "x")
    # Methods other than sends are not counted.
    await bot.get_me()
    await bot.send_chat_action(USERS[6], "typing")


async def test_per_chat_and_per_group(bot: Bot, fake: FakeTelegram) -> None:
    fake.set_flood_limit(per_group_per_minute=2)
    for _ in range(3):  # a short burst is tolerated
        await bot.send_message(USERS[0], "x")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(USERS[0], "x")
    assert _seconds(caught.value) == 1
    await bot.send_message(USERS[1], "other chats are not held up")

    await bot.send_message(GROUP, "1")
    await bot.send_message(GROUP, "2")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(GROUP, "3")
    assert _seconds(caught.value) == 30  # a group gets 2 per minute here


async def test_only_successful_sends_count(bot: Bot, fake: FakeTelegram) -> None:
    fake.set_flood_limit(per_second=2)
    fake.block(USERS[0])
    for _ in range(3):
        with pytest.raises(Forbidden):
            await bot.send_message(USERS[0], "x")
    with pytest.raises(BadRequest):
        await bot.send_message(USERS[1], "<b>unclosed", parse_mode="HTML")
    await bot.send_message(USERS[1], "1")
    await bot.send_message(USERS[2], "2")
    with pytest.raises(RetryAfter):
        await bot.send_message(USERS[3], "3")
    fake.set_flood_limit(None, None, None)
    await bot.send_message(USERS[3], "3")
    with pytest.raises(ValueError):
        fake.set_flood_limit(per_second=0)
