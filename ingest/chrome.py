"""Remove page chrome: portal/forum/news-site furniture, watermarks, photo captions, page-jump marks."""

from __future__ import annotations

import re

# Sentinel lines left where a page-jump mark stood, so paragraph rebuilding can join across it.
JUMP_OUT = "\x00jump-out"  # (下转 09 版): the text continues on another page
JUMP_IN = "\x00jump-in"  # (上接 07 版): the text continues from another page

_SPACES = re.compile(r"[ \t\u3000\u00a0\u2002\u2003\u2009\u200b\ufeff]+")
_PAGE_JUMP = re.compile(r"[(（\[【]\s*([上下])\s*(?:转|接)\s*(?:第\s*)?[0-9０-９A-Za-z]{1,3}\s*版\s*[)）\]】]")

# Watermarks pasted into the text of a compilation: 更多资料+【公众号:哒哒君】, 更多资料+AAA:xx, 更多资料uk:xx整理, 更多材料:
_WATERMARK = re.compile(
    r"更多(?:资料|材料)\s*(?:\+?\s*【[^】\n]{0,24}】|\+?\s*[A-Za-z]{1,8}\s*[:：]\s*[A-Za-z0-9]{0,8}(?:整理)?|[:：](?=\s*$))"
)

# Whole lines that are site furniture (matched against the stripped line).
_CHROME_LINES = [
    # portal buttons and breadcrumbs
    r"下载|打印|全屏|收藏|加大|还原|减小|分享[:：]?|打印本页|关闭窗口|返回顶部|首页|"
    r"【?字[号体][:：]?.{0,12}】?|当前位置[:：]?.{0,40}|发表时间[:：]?|阅读量[:：]?\s*\d*|浏览量[:：]?\s*\d*|"
    r"扫一扫在手机打开当前页|相关附件>*|相关链接>*|相关报道[:：]?",
    # source / date / author / editor lines
    r"(?:\d{4}年\d{1,2}月\d{1,2}日\s*)?来源[:：].{0,40}",
    r"\d{4}年\d{1,2}月\d{1,2}日\s*\d{1,2}时\d{1,2}分",
    r"时间[:：]\s*\d{4}-\d{1,2}-\d{1,2}.{0,12}",
    r"\d{4}-\d{1,2}-\d{1,2}(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?",
    r"[(（]?(?:责任)?编辑[:：].{0,12}[)）]?|作者[:：].{0,12}",
    # photo captions: "... 本报记者 戴冰摄", "... 宁夏日报记者 王鼎 摄"
    r".{0,160}(?:记者|通讯员|摄影)\s*[\u4e00-\u9fff·]{2,8}(?:\s*[、，,]\s*[\u4e00-\u9fff]{2,4})*\s*摄",
    # forum furniture (保定 post)
    r"设为首页.*|查看[:：]\s*\d+\s*\|\s*回复[:：]\s*\d+|\[复制链接\]|.{0,4}TA的每日心情|签到天数[:：].*|"
    r"\[LV\.\d+\].*|Rank[:：].*|\d+\s*(?:小时|分钟|天)前|"
    r"发表于\s*\d{4}-\d{1,2}-\d{1,2}.*|[0-9a-f]{24,}[:：]?",
]
_CHROME = re.compile(r"^(?:" + "|".join(_CHROME_LINES) + r")$")

# A line at which the report is over: everything from it on is page furniture.
_END = re.compile(
    r"^(?:您需要登录后才可以回帖.*|相关报道[:：]?.*|责任编辑[:：]?.*|扫一扫在手机打开当前页|相关链接[:：>].*|"
    r"浏览量[:：]?.*|打印本页|关闭窗口|快速回复.*|本版积分规则)$"
)


def normalise_lines(text: str) -> list[str]:
    """Split into stripped lines; runs of spaces (incl. full-width) become one space."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return [_SPACES.sub(" ", line).strip() for line in text.split("\n")]


def cut_tail(lines: list[str]) -> list[str]:
    """Drop everything from the first end-of-report furniture line (after some body text) on."""
    seen = 0
    for i, line in enumerate(lines):
        if seen > 200 and _END.match(line):
            return lines[:i]
        seen += len(line)
    return lines


_ENDS_SENTENCE = ("。", "！", "？", "!", "?", "…")
_CLOSING = "”’」』）)】》"
_ANY_PUNCT = re.compile(r"[，,。；;！？!?]")
_NOTE = re.compile(r"^(?:\[\d+\]|注[:：\d])")


def is_furniture(line: str) -> bool:
    """A line that cannot be report text at a report's end: short and ending no sentence (分享到微信, ×,
    相关文档：, 》》点击图片进入专题《《, 打印本页, a date or a link title), or without any punctuation at all."""
    if line in (JUMP_IN, JUMP_OUT):
        return True
    if _NOTE.match(line):
        return False
    ends = line.rstrip(_CLOSING).endswith(_ENDS_SENTENCE)
    return (len(line) <= 30 and not ends) or (len(line) <= 120 and not _ANY_PUNCT.search(line))


def trim_tail(lines: list[str]) -> list[str]:
    """The body lines without the page furniture after the report's last sentence (a general rule, no site list)."""
    end = len(lines)
    while end > 0 and is_furniture(lines[end - 1]):
        end -= 1
    return lines[:end]


def strip_chrome(lines: list[str]) -> list[str]:
    """Remove watermarks and chrome lines; page-jump marks become JUMP_OUT / JUMP_IN sentinel lines."""
    out: list[str] = []
    for line in lines:
        line = remove_watermarks(line)
        pieces = _PAGE_JUMP.split(line)
        # split() with one group gives [text, 上/下, text, ...]
        for k, piece in enumerate(pieces):
            if k % 2 == 1:
                out.append(JUMP_OUT if piece == "下" else JUMP_IN)
                continue
            piece = piece.strip()
            if piece and not _CHROME.match(piece):
                out.append(piece)
    return out


def remove_watermarks(line: str) -> str:
    """Delete pasted watermarks; a watermark between two commas leaves one comma."""
    if "更多" not in line:
        return line
    line = re.sub(r"([,，])\s*" + _WATERMARK.pattern + r"\s*[,，]", r"\1", line)
    return _WATERMARK.sub("", line).strip()


def is_chrome(line: str) -> bool:
    return bool(_CHROME.match(line.strip()))
