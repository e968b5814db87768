"""Plain-text reports as citizen-journalism sites export them.

Shape (see examples/reports/): a title line; optionally a short kicker line
("Exclusive – ..."); body paragraphs; the contributor's biography as the last paragraph;
then numbered, indented reader comments ("  1. Name" / date line / text) and perhaps
"Comments are closed."
"""
from __future__ import annotations

import re

from dateutil import parser as dateparser

from archiver.model import Comment

_COMMENT_HEAD = re.compile(r"^[ \t]+(\d+)\.[ \t]+(.*\S)[ \t]*$")
_CLOSED = re.compile(r"^\s*comments are closed\.?\s*$", re.IGNORECASE)
_YEAR = re.compile(r"\b\d{4}\b")
_SENTENCE_END = tuple(".!?:;\"”’)")
# A biography written in the third person after the author's name was cut off starts in
# lower case ("media activist from ..."); one that kept the name says "X is a ...".
_BIO = re.compile(
    r"^(?:[A-Z][\w.'’-]*\s){1,4}is an?\s(?:[\w-]+\s){0,3}"
    r"(?:activist|journalist|reporter|writer|photographer|student|member|correspondent|blogger)",
)


def parse_date(text: str) -> str | None:
    """ISO 8601 for a date-time written in words, or None when `text` is not a date.

    Requires a four-digit year so that names like "May" or "June" stay names.
    """
    text = text.replace("\u00a0", " ").strip()
    if not _YEAR.search(text):
        return None
    try:
        value = dateparser.parse(text)
    except (ValueError, OverflowError):
        return None
    if value.second == 0 and value.microsecond == 0:
        return value.isoformat(timespec="minutes")
    return value.isoformat()


def _paragraphs(lines: list[str]) -> list[str]:
    """Split on blank lines. Within a block, long lines are paragraphs of their own (the
    sites' exports put one paragraph per line); short lines are hard wrapping, joined."""
    paragraphs: list[str] = []
    block: list[str] = []

    def flush() -> None:
        if not block:
            return
        if all(len(line) <= 80 for line in block[:-1]) and len(block) > 1:
            paragraphs.append(" ".join(line.strip() for line in block))
        else:
            paragraphs.extend(line.strip() for line in block)
        block.clear()

    for line in lines:
        if line.strip():
            block.append(line)
        else:
            flush()
    flush()
    return paragraphs


def _is_kicker(paragraph: str) -> bool:
    return len(paragraph) <= 150 and not paragraph.endswith(_SENTENCE_END)


def _is_author_note(paragraph: str) -> bool:
    return paragraph[:1].islower() or bool(_BIO.match(paragraph))


def _parse_comments(lines: list[str]) -> list[Comment]:
    comments: list[Comment] = []
    head: re.Match | None = None
    rest: list[str] = []

    def flush() -> None:
        if head is None:
            return
        number, first = int(head.group(1)), head.group(2).strip()
        published = parse_date(first)
        author = None if published else first
        body = list(rest)
        while body and not body[0].strip():
            body.pop(0)
        if published is None and body:
            published = parse_date(body[0])
            if published:
                body.pop(0)
        text = "\n\n".join(_paragraphs(body))
        comments.append(Comment(number=number, author=author, published=published, text=text))

    for line in lines:
        match = _COMMENT_HEAD.match(line)
        if match and (head is None or int(match.group(1)) == int(head.group(1)) + 1):
            flush()
            head, rest = match, []
        else:
            rest.append(line)
    flush()
    return comments


def parse_text_report(text: str) -> dict:
    """Return the extracted fields of a plain-text report as a dict of Report fields."""
    lines = text.splitlines()
    closed = False
    while lines and not lines[-1].strip():
        lines.pop()
    if lines and _CLOSED.match(lines[-1]):
        closed = True
        lines.pop()

    # comments start at the first indented "1." line
    start = next((i for i, line in enumerate(lines)
                  if (m := _COMMENT_HEAD.match(line)) and m.group(1) == "1"), len(lines))
    main, comment_lines = lines[:start], lines[start:]

    while main and not main[0].strip():
        main.pop(0)
    title = main[0].strip() if main else None
    paragraphs = _paragraphs(main[1:])

    subtitle = None
    if len(paragraphs) > 1 and _is_kicker(paragraphs[0]):
        subtitle = paragraphs.pop(0)
    author_note = None
    if len(paragraphs) > 1 and _is_author_note(paragraphs[-1]):
        author_note = paragraphs.pop()

    return {
        "title": title,
        "subtitle": subtitle,
        "body": paragraphs,
        "author_note": author_note,
        "comments": _parse_comments(comment_lines),
        "comments_closed": closed,
    }
