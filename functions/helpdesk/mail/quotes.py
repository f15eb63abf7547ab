"""Separate what the sender wrote now from the quoted history and the signature of a reply.

Attribution lines ("On ... wrote:", "пт, 20 нояб. 2026 г. в 10:00, Иван <...>:"), Outlook
header blocks, forward markers and trailing "> " blocks all mark the start of the history.

mail-parser-reply supplies the attribution patterns of its other languages (de, fr, it, nl, ...)
and the "Sent from my ..." phrases. Its own EmailReplyParser.read() is not called: its
patterns backtrack catastrophically on raw text (about 2 s on 6 KB of "On On On ..."), it
strips every line, and it knows no Russian. Its patterns run here on single short lines
only, with a fixed budget. English and Russian are matched by hand-written checks that run
in linear time and ask for a date, time or address on the line, so "wrote:" in ordinary
prose is not taken for a header.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Literal

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SplitReply:
    new_text: str  # what the sender wrote now; the whole text if all of it is quoted
    quoted: str  # the folded history ("" if none)
    signature: str  # trailing signature block if reliably detected, else ""


def split_reply(text: str) -> SplitReply:
    """Split a plain-text reply. Never raises: on a bug the whole text counts as new."""
    if not isinstance(text, str):  # why: callers pass parsed mail; don't fail ingestion on None
        text = "" if text is None else str(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        return SplitReply("", "", "")
    try:
        return _split(text)
    except Exception:  # why: losing a customer's mail is worse than not folding quotes
        logger.exception("split_reply failed; keeping the whole text")
        return SplitReply(_clean(text), "", "")


# --- line kinds -----------------------------------------------------------------------------

# Leading whitespace but not the newline: [^\S\n]. Lines are tested without copying them.
_QUOTE_LINE = re.compile(r"^[^\S\n]*>", re.M)
_TEXT_LINE = re.compile(r"^[^\S\n]*[^\s>]", re.M)  # non-blank and not quoted


def _is_quote(line: str) -> bool:
    return _QUOTE_LINE.match(line) is not None


def _is_blank(line: str) -> bool:
    return not line or line.isspace()


# --- evidence that a line is written by a mail client ---------------------------------------

_TIME = re.compile(r"(?<!\d)\d{1,2}:\d{2}(?!\d)")
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
_NUMERIC_DATE = re.compile(r"(?<!\d)\d{1,2}[./-]\d{1,2}[./-]\d{2,4}(?!\d)")
# A character, "@", a domain label and a dot: no "+" before "@", so no quadratic scan.
_EMAIL_HINT = re.compile(r"[\w.+-]@[\w-]+\.\w")
# One whitespace-free token that is an address, optionally in <> or [] (ends of attributions).
_EMAIL_TOKEN = re.compile(r"""["'(<\[]?(?:mailto:)?[\w.+'%-]+@[\w-]+(?:\.[\w-]+)+[>\])"',]*""")

# Attributions start with "On", a date or a weekday; prose rarely does and also ends in a verb.
_ATTRIBUTION_START = re.compile(
    r"(?:on\s|\d|(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?[\s,]"
    r"|(?:пн|вт|ср|чт|пт|сб|вс|понедельник|вторник|среда|четверг|пятница|суббота|воскресенье)"
    r"\.?[\s,])",
    re.I,
)
# The Bat!: "Вы писали 20 ноября 2026 г., 10:00:" puts the verb first.
_WROTE_FIRST = re.compile(r"(?:вы писали|you wrote)[\s,]", re.I)
_WROTE_VERBS = frozenset({
    "wrote", "writes",
    "пишет", "пишут", "написал", "написала", "написали", "написало", "написал(а)", "написал(-а)",
})

_MAX_HEADER_LINE = 300  # attributions are short; longer lines are never checked

# --- block markers -----------------------------------------------------------------------

_SEPARATOR = re.compile(
    r"^[ \t]*(?:"
    r"-{2,}[ \t]*(?=[^\W\d_])"  # a letter must follow: "----" rules fail at once
    r"(?:original message|forwarded message|исходное сообщение|пересылаемое сообщение"
    r"|переадресованное сообщение|перенаправленное сообщение|оригинальное сообщение"
    r"|пересланное сообщение|ursprüngliche nachricht|weitergeleitete nachricht"
    r"|message d'origine|message transféré|mensaje original|mensaje reenviado)[ \t]*-{2,}"
    r"|(?:begin forwarded message|начало пересылаемого сообщения"
    r"|начало переадресованного сообщения)[ \t]*:"
    r")[ \t]*$",
    re.M | re.I,
)
# Outlook: "From:/От:" and right below it a few header lines, one of them a subject (or one
# line of any kind if From has an address), so "From: Moscow\nTo: Kazan\nDate: ..." in a
# booking request is not taken for history. "*From:*" when bold survived html-to-text.
_HEADER_KEY = (
    r"\n[ \t]*\*{0,2}(?:sent|date|to|cc|bcc|subject|reply-to|отправлено|дата|кому|копия|тема"
    r"|gesendet|datum|an|betreff|envoyé|à|objet|enviado|fecha|para|asunto)\*{0,2}[ \t]*:[^\n]*"
)
_SUBJECT_KEY = r"\n[ \t]*\*{0,2}(?:subject|тема|betreff|objet|asunto)\*{0,2}[ \t]*:"
_OUTLOOK_BLOCK = re.compile(
    r"^[ \t]*\*{0,2}(?:from|от|от кого|von|de)\*{0,2}[ \t]*:[ \t]*(?:\*{1,2}[ \t]*)?\S"
    rf"(?:[^\n@]*@[^\n]*{_HEADER_KEY}"
    rf"|[^\n]*(?=(?:{_HEADER_KEY}){{0,4}}{_SUBJECT_KEY})(?:{_HEADER_KEY}){{2}})",
    re.M | re.I,
)
_RULE = re.compile(r"[ \t]*(?:_{8,}|-{8,})[ \t]*")
# Candidates for attributions: unquoted lines ending in ":" with a digit or "@" (a date, a
# time or an address); the lookaheads use character classes that exclude what they look for,
# so each line is scanned a bounded number of times.
_MAX = _MAX_HEADER_LINE
_ATTRIBUTION_LINE = re.compile(
    rf"^(?=[ \t]*[^\s>])(?=[^\n]{{10}})(?=[^\n\d@]{{0,{_MAX}}}[\d@])[^\n]{{1,{_MAX}}}?[:：][ \t]*$",
    re.M,
)
# The same over two lines (Gmail wraps long ones); zero-width, so overlapping pairs are seen.
_WRAPPED_ATTRIBUTION = re.compile(
    rf"^(?=[ \t]*[^\s>])(?=(?P<first>[^\n]{{20,{_MAX}}})\n"
    r"(?P<second>[ \t]*[^\s>][^\n]{0,150}?[:：])[ \t]*$)"
    r"(?=[^\n\d@]*(?:\n[^\n\d@]*)?[\d@])",
    re.M,
)

# --- signatures ---------------------------------------------------------------------------

_SIG_SEARCH_LINES = 60  # a "-- " signature is searched in the last lines only
_SIG_BARE_MAX_LINES = 10  # "--" without the space is also a separator in prose: keep it short
_MOBILE_MAX_LEN = 120
_MOBILE_OWN = [
    r"sent (?:from|with|via) \S",
    r"get outlook for \S",
    r"отправлено (?:с|со|из|через) \S",
    r"(?:получить|получите|скачать) outlook для \S",
]


def _library_patterns() -> tuple[list[re.Pattern[str]], re.Pattern[str]]:
    """mail-parser-reply's attribution patterns (not en: ours is stricter) and mobile phrases.

    The patterns are made linear: the negative lookahead in front (for several headers on one
    line, which a single line never has) is dropped and ".+?\\s?.+?" becomes ".+?".
    """
    wrote: list[re.Pattern[str]] = []
    mobile = list(_MOBILE_OWN)
    try:
        from mailparser_reply.constants import MAIL_LANGUAGES, QUOTED_MATCH_INCLUDE
    except Exception:  # why: a broken upgrade must cost the extra languages only
        logger.warning("mail-parser-reply unavailable; English and Russian only")
        return wrote, re.compile("|".join(f"(?:{p})" for p in mobile), re.I)
    for language, table in MAIL_LANGUAGES.items():
        source = table.get("wrote_header")
        if language != "en" and isinstance(source, str):
            _, found, tail = source.partition(QUOTED_MATCH_INCLUDE)
            if found:
                tail = tail.replace(r"(?:.+?\s?.+?)", r"(?:.+?)").replace(r"(.+?\s?.+?)", r"(.+?)")
                try:
                    wrote.append(re.compile("^(" + tail, re.I))
                except re.error:
                    logger.warning("skipping mail-parser-reply pattern for %s", language)
        sent_from = table.get("sent_from")
        for phrase in sent_from if isinstance(sent_from, list) else [sent_from]:
            if isinstance(phrase, str) and phrase:
                try:
                    re.compile(phrase)
                except re.error:
                    continue
                mobile.append(phrase)
    return wrote, re.compile("|".join(f"(?:{p})" for p in mobile), re.I)


_LIBRARY_WROTE, _MOBILE = _library_patterns()
# Some library patterns are still quadratic in the line length; a budget per message bounds
# the total (a real header is among the first colon-terminated lines anyway).
_LIBRARY_BUDGET = 200


# --- header search --------------------------------------------------------------------------

HeaderKind = Literal["attribution", "block"]


@dataclass(frozen=True)
class _Header:
    start: int  # offset of the first line of the header
    end: int  # offset just past the header's last line
    kind: HeaderKind  # "attribution": history below may be inline; "block": all below is history


def _find_separator(text: str, endpos: int) -> _Header | None:
    match = _SEPARATOR.search(text, 0, endpos)
    return _Header(match.start(), match.end(), "block") if match else None


def _find_outlook_block(text: str, endpos: int) -> _Header | None:
    match = _OUTLOOK_BLOCK.search(text, 0, endpos)
    return _Header(_rule_above(text, match.start()), match.end(), "block") if match else None


def _rule_above(text: str, start: int) -> int:
    """Outlook puts a "____" rule above its header block: fold it with the block."""
    pos = start
    for _ in range(3):  # the rule and up to two blank lines
        if pos == 0:
            break
        above = text.rfind("\n", max(0, pos - 1 - _MAX_HEADER_LINE), pos - 1) + 1
        if above == 0 and pos - 1 > _MAX_HEADER_LINE:
            break  # the line above is too long to be a rule
        line = text[above:pos - 1]
        if _RULE.fullmatch(line):
            return above
        if not _is_blank(line):
            break
        pos = above
    return start


def _is_attribution(line: str) -> bool:
    """An English or Russian attribution line (already stripped, single line)."""
    body = line.rstrip(" \t:：")
    if len(body) < 8:
        return False
    words = body.rsplit(None, 1)
    head, last = (words[0], words[1]) if len(words) == 2 else ("", body)
    last = last.lower()
    if _WROTE_FIRST.match(body):
        return bool(_TIME.search(body) or _YEAR.search(body) or _NUMERIC_DATE.search(body))
    if last not in _WROTE_VERBS and "@" not in last:
        return False  # the common case for colon-terminated prose: decided cheaply
    if last in _WROTE_VERBS:
        if _ATTRIBUTION_START.match(body) and (
            _TIME.search(body) or _YEAR.search(body) or _NUMERIC_DATE.search(body)
            or _EMAIL_HINT.search(body)
        ):
            return True  # "On <date> ... wrote:", "20.11.2026 10:00, Иван пишет:"
        # "Ivan Petrov <ivan@example.com> wrote:": the address right before the verb
        before = head.rsplit(None, 1)[-1] if head.strip() else ""
        return _EMAIL_TOKEN.fullmatch(before) is not None
    if _EMAIL_TOKEN.fullmatch(last):
        # Gmail ru, Yandex, Mail.ru: "<date>, <time>, Name <address>:" without a verb
        return bool(
            _ATTRIBUTION_START.match(body) and _TIME.search(body)
            and (_YEAR.search(body) or _NUMERIC_DATE.search(body))
        )
    return False


class _AttributionFinder:
    def __init__(self) -> None:
        self.budget = _LIBRARY_BUDGET

    def matches(self, line: str) -> bool:
        if _is_attribution(line):
            return True
        if self.budget <= 0 or not (_EMAIL_HINT.search(line) or any(c.isdigit() for c in line)):
            return False
        self.budget -= 1
        return any(pattern.match(line) for pattern in _LIBRARY_WROTE)

    def find(self, text: str, endpos: int) -> _Header | None:
        for match in _ATTRIBUTION_LINE.finditer(text, 0, endpos):
            if self.matches(match.group().strip()):
                return _Header(match.start(), match.end(), "attribution")
        return None

    def find_wrapped(self, text: str, endpos: int) -> _Header | None:
        """"On ... Ivan Petrov <ivan@example.com>\nwrote:" (Gmail wraps at 76 characters)."""
        for match in _WRAPPED_ATTRIBUTION.finditer(text, 0, endpos):
            if self.matches(f"{match['first'].strip()} {match['second'].strip()}"):
                return _Header(match.start(), match.end("second"), "attribution")
        return None


def _find_header(text: str) -> _Header | None:
    """The first header at quote level 0; each search stops where a better one was found."""
    attributions = _AttributionFinder()
    best: _Header | None = None
    for finder in (_find_separator, _find_outlook_block, attributions.find):
        found = finder(text, best.start if best else len(text))
        if found and (best is None or found.start < best.start):
            best = found
    # A wrapped pair may end on the line found alone ("...Petrov\n<ivan@example.com> wrote:")
    wrapped = attributions.find_wrapped(text, best.end if best else len(text))
    if wrapped and (best is None or wrapped.start < best.start):
        best = wrapped
    return best


# --- splitting ------------------------------------------------------------------------------


def _clean(text: str) -> str:
    """Drop leading blank lines and trailing whitespace."""
    text = text.rstrip()
    first = 0
    for line in text.split("\n"):
        if line.strip():
            break
        first += len(line) + 1
    return text[first:]


def _trim(lines: list[str], lo: int, hi: int) -> int:
    """hi without the trailing blank lines of lines[lo:hi]."""
    while hi > lo and _is_blank(lines[hi - 1]):
        hi -= 1
    return hi


def _signature_start(lines: list[str], lo: int, hi: int) -> int | None:
    """Index where a signature starts in lines[lo:hi] (hi trimmed), if reliably found."""
    if hi <= lo:
        return None
    for i in range(max(lo, hi - _SIG_SEARCH_LINES), hi - 1):
        if lines[i].rstrip() != "--":
            continue
        block = lines[i + 1:hi]
        if any(_is_quote(line) for line in block):
            continue  # a quote below: this is not the end of the message
        if lines[i] != "-- " and sum(not _is_blank(line) for line in block) > _SIG_BARE_MAX_LINES:
            continue
        return i
    last = lines[hi - 1].strip()
    if len(last) <= _MOBILE_MAX_LEN and _MOBILE.match(last):
        return hi - 1
    return None


def _quote_tail_start(lines: list[str], lo: int, hi: int) -> int | None:
    """Start of the trailing block of "> " lines (blank lines allowed) in lines[lo:hi]."""
    start = None
    i = hi
    while i > lo and (_is_quote(lines[i - 1]) or _is_blank(lines[i - 1])):
        i -= 1
        if _is_quote(lines[i]):
            start = i
    return start


def _interleaved(text: str) -> bool:
    """Unquoted text below a "> " line: an inline answer (or bottom posting)."""
    first_quote = _QUOTE_LINE.search(text)
    return bool(first_quote and _TEXT_LINE.search(text, first_quote.end()))


def _join(lines: list[str], lo: int, hi: int) -> str:
    return _clean("\n".join(lines[lo:hi]))


def _inline(lines: list[str]) -> SplitReply:
    """Answers between quotes: everything is new text, only a final signature is split off."""
    hi = _trim(lines, 0, len(lines))
    sig = _signature_start(lines, 0, hi)
    if sig is not None and _join(lines, 0, sig):
        return SplitReply(_join(lines, 0, sig), "", _join(lines, sig, hi))
    return SplitReply(_join(lines, 0, hi), "", "")


def _split(text: str) -> SplitReply:
    lines = text.split("\n")
    header = _find_header(text)
    top_end = len(lines)
    history = ""
    bottom_signature = ""
    if header is not None:
        top_end = text.count("\n", 0, header.start)
        body_start = text.count("\n", 0, header.end) + 1
        hi = _trim(lines, body_start, len(lines))
        if header.kind == "attribution" and _interleaved("\n".join(lines[body_start:hi])):
            # Thunderbird can put the signature below the quote: that is not inline answering.
            sig = _signature_start(lines, body_start, hi)
            if sig is None or _interleaved("\n".join(lines[body_start:sig])):
                return _inline(lines)
            bottom_signature = _join(lines, sig, hi)
            hi = sig
        history = _join(lines, top_end, hi)

    hi = _trim(lines, 0, top_end)
    sig_lo = _signature_start(lines, 0, hi)
    body_hi = hi if sig_lo is None else _trim(lines, 0, sig_lo)
    signature = "" if sig_lo is None else _join(lines, sig_lo, hi)
    quote_lo = _quote_tail_start(lines, 0, body_hi)
    quote = ""
    if quote_lo is not None:
        quote = _join(lines, quote_lo, body_hi)
        body_hi = _trim(lines, 0, quote_lo)
        if sig_lo is None:  # "answer\n-- \nIvan\n\n> quote": the signature sits above the quote
            sig_lo = _signature_start(lines, 0, body_hi)
            if sig_lo is not None:
                signature = _join(lines, sig_lo, body_hi)
                body_hi = _trim(lines, 0, sig_lo)
    if _interleaved("\n".join(lines[:body_hi])):
        return _inline(lines)

    new_text = _join(lines, 0, body_hi)
    if not signature:
        signature = bottom_signature
    elif bottom_signature:
        history = f"{history}\n\n{bottom_signature}"
    quoted = "\n\n".join(part for part in (quote, history) if part)
    if not new_text:
        if signature:  # only a signature above the quote: it is all the sender wrote
            return SplitReply(signature, quoted, "")
        return SplitReply(_clean(text), "", "")  # all quoted, e.g. a pure forward
    return SplitReply(new_text, quoted, signature)
