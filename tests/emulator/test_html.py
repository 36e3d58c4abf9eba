"""parse_mode=HTML is checked as strictly as Telegram, and stricter about escaping."""

from __future__ import annotations

import pytest

from bot.emulator.html import HtmlError, html_to_terminal, parse_html, parse_html_entities


@pytest.mark.parametrize(
    ("text", "visible"),
    [
        ("<b>粗</b><i>斜</i><u>下</u><s>删</s>", "粗斜下删"),
        ("<strong>a</strong><em>b</em><ins>c</ins><strike>d</strike><del>e</del>", "abcde"),
        ("<b>a<i>b<u>c</u></i></b>", "abc"),
        ("&lt;b&gt;A&amp;B&lt;/b&gt;", "<b>A&B</b>"),
        ("&quot;引号&quot;", '"引号"'),
        ('<a href="https://example.org/?a=1&amp;b=2">链接</a>', "链接"),
        ("&#128512;&#x4E2D;", "😀中"),
        ("1 > 0", "1 > 0"),
        ('<span class="tg-spoiler">秘</span><tg-spoiler>密</tg-spoiler>', "秘密"),
        ('<pre><code class="language-python">x = 1</code></pre>', "x = 1"),
        ("<code>c</code> <blockquote expandable>引用</blockquote>", "c 引用"),
        ('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>', "👍"),
        ("<B>大写</B>", "大写"),
        ("", ""),
    ],
)
def test_valid_html(text: str, visible: str) -> None:
    assert parse_html(text) == visible


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("<b>A&B</b>", 'Character "&" must be escaped'),
        ("<div>x</div>", 'Unsupported start tag "div" at byte offset 0'),
        ("支<p>x</p>", 'Unsupported start tag "p" at byte offset 3'),
        ("<b>open", 'Can\'t find end tag corresponding to start tag "b"'),
        ("close</b>", "Unexpected end tag at byte offset 5"),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("1<2", "Unclosed start tag at byte offset 1"),
        ("&nbsp;", 'Unsupported HTML entity "&nbsp;"'),
        ("<a>no href</a>", 'Tag "a" must have attribute "href"'),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler"'),
        ("<tg-emoji>x</tg-emoji>", 'Tag "tg-emoji" must have attribute "emoji-id"'),
        ('<a href="x>y</a>', "Unclosed start tag"),
        ("<br>", 'Unsupported start tag "br"'),
    ],
)
def test_invalid_html(text: str, reason: str) -> None:
    with pytest.raises(HtmlError) as caught:
        parse_html(text)
    message = str(caught.value)
    assert message.startswith("Bad Request: can't parse entities: ")
    assert reason in message


def test_entities_are_in_utf16_units() -> None:
    text, entities = parse_html_entities('😀<b>粗</b> <a href="https://x.org">链</a><b></b>')
    assert text == "😀粗 链"
    assert entities == [
        {"type": "bold", "offset": 2, "length": 1},
        {"type": "text_link", "offset": 4, "length": 1, "url": "https://x.org"},
    ]


def test_pre_with_language_is_one_entity() -> None:
    _, entities = parse_html_entities('<pre><code class="language-python">x</code></pre>')
    assert entities == [{"type": "pre", "offset": 0, "length": 1, "language": "python"}]


def test_terminal_rendering() -> None:
    assert html_to_terminal("<b>粗</b> &amp; &lt;", ansi=False) == "粗 & <"
    assert html_to_terminal('<a href="https://x.org">链接</a>', ansi=False) == (
        "链接 (https://x.org)"
    )
    bold = html_to_terminal("<b>粗<i>斜</i>体</b>", ansi=True)
    assert bold.startswith("\x1b[1m粗\x1b[3m斜") and bold.endswith("体\x1b[0m")
    # Not valid HTML: shown as it is rather than failing the demo.
    assert html_to_terminal("a < b", ansi=True) == "a < b"
