"""Rebuild whole paragraphs from cleaned lines: join hard wraps and page jumps, track section paths.

Rules (in order, per line):
- a line that continues an open paragraph which ended mid-sentence is joined to it, unless the
  line is a "strong start" (一、/（一）/○/【】/#/bullet/footnote mark/各位代表);
- blank lines are ignored (the sources put them inside sentences as often as between paragraphs);
- a paragraph is complete when it ends with 。！？；… (closing quotes/brackets may follow) or with
  a colon outside the notes; a bullet item is complete unless its quotes/brackets are unbalanced or
  it ends with a comma;
- between a (下转 N 版) and the next (上接 N 版) mark, short lines are the new page's headline: they
  become headings, emitted after the interrupted paragraph has been completed;
- after a 名词解释/注释 heading, and for any line starting with [n], paragraphs are footnotes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .chrome import JUMP_IN, JUMP_OUT
from .headings import (
    BULLET,
    FOOTNOTE_MARK,
    FOOTNOTE_NUMBER,
    SALUTATION,
    SENTENCE_END,
    Heading,
    find_heading,
    is_footnote_title,
    is_strong_start,
    is_subtitle,
)
from .placeholders import restore_placeholders

SECTION_SEP = " > "
_CLOSERS = "”’」』）)】》\"'"
_PAIRS = [("“", "”"), ("（", "）"), ("(", ")"), ("《", "》"), ("【", "】"), ("「", "」")]
_TOC_LINE = re.compile(r"^\d{1,3}[.．、]\s*\d{4}年度?.{2,24}政府工作报告\s*\d{0,4}$")
_FOOTNOTE_SECTION = "注释"


@dataclass
class Block:
    """A paragraph under construction."""

    text: str
    kind: str  # body | heading | footnote
    section: str
    bullet: bool = False
    salutation: bool = False

    def complete(self, in_footnotes: bool) -> bool:
        if self.kind == "heading":
            return True
        if self.salutation:
            return False
        if self.bullet:
            return balanced(self.text) and not self.text.endswith(("，", ",", "、", "：", ":"))
        return ends_sentence(self.text, colon_ends=not in_footnotes)


def ends_sentence(text: str, colon_ends: bool = True) -> bool:
    core = text.rstrip(_CLOSERS)
    if not core:
        return False
    if core[-1] in SENTENCE_END:
        return True
    return colon_ends and core[-1] in "：:" and core == text


def balanced(text: str) -> bool:
    return all(text.count(a) <= text.count(b) for a, b in _PAIRS)


def join(a: str, b: str) -> str:
    """Join a hard-wrapped line: no space in Chinese text, one space between two Latin words."""
    if a and b and a[-1].isascii() and a[-1].isalpha() and b[0].isascii() and b[0].isalpha():
        return f"{a} {b}"
    return a + b


@dataclass
class _Builder:
    blocks: list[Block] = field(default_factory=list)
    open: Block | None = None
    path: list[tuple[int, str]] = field(default_factory=list)
    in_footnotes: bool = False
    jumping: bool = False  # between a (下转) and an (上接) mark
    deferred: list[str] = field(default_factory=list)  # page headlines waiting for the open paragraph

    @property
    def section(self) -> str:
        return SECTION_SEP.join(title for _, title in self.path)

    def open_incomplete(self) -> bool:
        return self.open is not None and not self.open.complete(self.in_footnotes)

    def flush(self) -> None:
        if self.open is not None:
            self.blocks.append(self.open)
            self.open = None
        for line in self.deferred:
            self._heading(Heading(0, line, line))
        self.deferred = []

    def _enter(self, heading: Heading) -> None:
        self.path = [(lvl, t) for lvl, t in self.path if lvl < heading.level] + [(heading.level, heading.title)]
        if is_footnote_title(heading.title):
            self.in_footnotes = True

    def _heading(self, heading: Heading) -> None:
        self._enter(heading)
        self.blocks.append(Block(heading.text, "heading", self.section))

    def feed(self, line: str) -> None:
        if line == JUMP_OUT:
            self.jumping = True
            return
        if line == JUMP_IN:
            self.jumping = False
            return
        if _TOC_LINE.match(line):
            return
        if self.jumping and len(line) <= 30 and not re.search(r"[。！？!?；;]", line):
            if self.open_incomplete():
                self.deferred.append(line)
            else:
                self.flush()
                self._heading(Heading(0, line, line))
            return
        strong = is_strong_start(line, self.in_footnotes)
        if self.open is not None and self.open_incomplete() and not strong:
            self.open.text = join(self.open.text, line)
            return
        # A "——subtitle" line completes the heading just emitted.
        if self.open is None and self.blocks and self.blocks[-1].kind == "heading" and is_subtitle(line):
            last = self.blocks[-1]
            last.text = last.text + line
            title = self.path[-1][1] + line
            self.path[-1] = (self.path[-1][0], title)
            last.section = self.section
            return
        prev_complete = not self.open_incomplete()
        self.flush()
        self._start(line, prev_complete)

    def _start(self, line: str, prev_complete: bool) -> None:
        if SALUTATION.match(line):
            self.open = Block(line, "body", self.section, salutation=True)
            return
        if FOOTNOTE_MARK.match(line) or (self.in_footnotes and FOOTNOTE_NUMBER.match(line)):
            if not self.in_footnotes:
                self.in_footnotes = True
                if not self.path or not is_footnote_title(self.path[-1][1]):
                    self.path = [(0, _FOOTNOTE_SECTION)]
            self.open = Block(line, "footnote", self.section)
            return
        bullet = BULLET.match(line)
        if bullet:
            self.open = Block(
                line[bullet.end() :].strip(), "footnote" if self.in_footnotes else "body", self.section, bullet=True
            )
            return
        heading = None if self.in_footnotes else find_heading(line, prev_complete)
        if self.in_footnotes and not FOOTNOTE_NUMBER.match(line):
            heading = find_heading(line, prev_complete)
            if heading is not None and heading.level != 0:
                heading = None
        if heading is not None:
            if heading.text:
                self._heading(heading)
                if heading.body:
                    self.open = Block(heading.body, self._body_kind(), self.section)
                return
            self._enter(heading)
            line = heading.body
        self.open = Block(line, self._body_kind(), self.section)

    def _body_kind(self) -> str:
        return "footnote" if self.in_footnotes else "body"


def build_blocks(lines: list[str]) -> list[Block]:
    """Paragraph blocks (text, kind, section) from the cleaned body lines of one report."""
    builder = _Builder()
    for line in lines:
        if line:
            builder.feed(line)
    builder.flush()
    blocks = []
    for block in builder.blocks:
        text = restore_placeholders(block.text.strip())
        if text:
            block.text = text
            block.section = restore_placeholders(block.section)
            blocks.append(block)
    return blocks
