"""Messages that are not questions about the rules (pure): greetings, thanks, requests to write
something, questions about the weather or the bot, and a bare date or number typed outside any
flow. None of them may get a rule card (issue 15; 14.17).

Every pattern must match the whole message (after normalization and without punctuation), so a
real question that merely starts with 你好 or ends with 谢谢 still goes to the knowledge base.
"""

from __future__ import annotations

import re

_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)
_GREETING = re.compile(
    r"(你好|您好|你好呀|您好呀|hi|hello|hey|嗨|哈喽|哈啰|早|早上好|早安|上午好|中午好|下午好|"
    r"晚上好|在吗|在不在|在么|小助手|助手|你们好|大家好)+"
)
_THANKS = re.compile(
    r"(谢谢|谢谢你|谢谢您|谢啦|多谢|感谢|非常感谢|辛苦了|辛苦|明白了|明白|知道了|了解|好的|好|"
    r"收到|ok|okay|thx|thanks|thankyou|嗯嗯|👍|🙏|赞)+"
)
_WEEKDAY = r"(?:星期|周|礼拜)[一二三四五六日天]"
_DATE = re.compile(
    r"((\d{4}[-/.年])?\d{1,2}[-/.月]\d{1,2}[日号]?|\d{1,2}[日号]|今天|明天|后天|昨天|前天|"
    rf"(上|下|这|本)?{_WEEKDAY}|上午|中午|下午|晚上|早上|\d{{1,2}}(点|:|时)(\d{{1,2}}分?|半)?)+"
)
_NUMBER = re.compile(
    r"[\d.]+(元|块|人|个|名|位|岁|次|天|%)?|[零〇一二两三四五六七八九十百千万]+(元|块|人|个|名|位)?"
)
# Requests to write, translate or polish a text: the verb comes first (after please / for me).
_WRITE = re.compile(
    r"^(请|麻烦)?(你)?(帮我|给我|替我|帮忙|帮)?(写|起草|拟|撰写|生成|润色|翻译|改写|编写|编|"
    r"写作|出)(一下|一个|一篇|一份|一首|一段|个|篇|份|首|段|下)"
)
_ELSEWHERE = re.compile(
    r"(天气|天氣|下雨|下雪|气温|(今天|现在|明天|今儿)是?(几号|几点|星期几|周几)|股票|彩票|笑话|"
    r"唱首歌|减肥|菜谱|红烧|餐馆|好吃|机票|火车票|油价|房贷|利率|发烧|世界杯|周末去哪)"
)
_THANKS_SIGNS = re.compile(r"[👍🙏👌💪🌹]+")
_ABOUT_BOT = re.compile(r"^(你|您)(是谁|叫什么|是机器人|是人|会干什么|能干什么|会做什么|能做什么)")


def kind_of(text: str) -> str | None:
    """greeting, thanks, stray (a bare date or number), write (a request to write something),
    off_topic (the weather, the bot…), or None for anything that may be a question about the
    rules. `text` is simplified, half-width and lower case already."""
    if _THANKS_SIGNS.fullmatch(text.strip()):
        return "thanks"
    bare = _NOISE.sub("", text)
    if not bare:
        return "off_topic"
    if _GREETING.fullmatch(bare):
        return "greeting"
    if _THANKS.fullmatch(bare) or re.fullmatch(r"(好的|收到|ok)?(谢谢|多谢|感谢)", bare):
        return "thanks"
    if _DATE.fullmatch(bare) or _NUMBER.fullmatch(bare):
        return "stray"
    if _WRITE.search(bare):
        return "write"
    if _ABOUT_BOT.search(bare):
        return "off_topic"
    if _ELSEWHERE.search(bare) and "党" not in bare and "支部" not in bare:
        return "off_topic"
    return None
