"""HTML bodies: sanitised with nh3 for display, flattened to readable text with html.parser.

Text is derived from the *sanitised* HTML: nh3 has already dropped scripts and styles and
serialised well-formed markup, so the stdlib parser only ever sees easy input.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import unquote

import nh3

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "center", "cite", "code", "col",
    "colgroup", "dd", "del", "div", "dl", "dt", "em", "font", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "img", "ins", "kbd", "li", "ol", "p", "pre", "q", "s", "samp", "small",
    "span", "strike", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead",
    "tr", "tt", "u", "ul",
}  # fmt: skip
_CELL = {"align", "valign", "colspan", "rowspan", "width", "height", "bgcolor"}
_ATTRIBUTES = {
    "*": {"style", "title", "dir", "lang"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "font": {"color", "size", "face"},
    "table": {"align", "width", "border", "cellpadding", "cellspacing", "bgcolor"},
    "td": _CELL,
    "th": _CELL,
    "tr": {"align", "valign", "bgcolor"},
    "ol": {"start", "type"},
}
_STYLE = {
    "color", "background-color", "font-weight", "font-style", "font-size", "font-family",
    "text-decoration", "text-align", "margin-left", "padding", "border",
}  # fmt: skip
_IMAGE_SCHEMES = ("cid:", "https:")  # no tracking over plain http, no data: blobs


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src" and not value.strip().lower().startswith(_IMAGE_SCHEMES):
        return None
    return value


_CLEANER = nh3.Cleaner(
    tags=_TAGS,
    clean_content_tags={"script", "style", "title", "head", "template", "noscript"},
    attributes=_ATTRIBUTES,
    attribute_filter=_attribute_filter,
    url_schemes={"http", "https", "mailto", "tel", "cid"},
    filter_style_properties=_STYLE,
    link_rel="noopener noreferrer nofollow",
)

# html5ever (under nh3) is quadratic in the depth of open block elements: 100k nested <div>
# take 40 s. Mail HTML is never more than a few hundred deep, so deeper tags are dropped.
MAX_NESTING = 400
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]*)[^<>]*>")
_VOID = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
    "source", "track", "wbr",
}  # fmt: skip
_SELF_CLOSING = {"p", "li", "td", "th", "tr", "dt", "dd", "option", "tbody", "thead"}


def limit_nesting(html: str, limit: int = MAX_NESTING) -> tuple[str, bool]:
    """Drop tags nested deeper than `limit` (their text stays): (html, whether any were)."""
    if html.count("<") <= limit:
        return html, False
    depth = 0
    dropped: dict[str, int] = {}
    pieces: list[str] = []
    position = 0
    for match in _TAG.finditer(html):
        closing, name = match.group(1), match.group(2).lower()
        if name in _VOID or name in _SELF_CLOSING or match.group().endswith("/>"):
            continue
        if closing:
            if dropped.get(name):
                dropped[name] -= 1
            else:
                depth = max(depth - 1, 0)
                continue
        elif depth < limit:
            depth += 1
            continue
        else:
            dropped[name] = dropped.get(name, 0) + 1
        pieces.append(html[position : match.start()])
        position = match.end()
    if not pieces:
        return html, False
    pieces.append(html[position:])
    return "".join(pieces), True


def sanitize_html(html: str) -> str:
    """Safe HTML for display: basic formatting, tables, links, cid:/https: images."""
    return _CLEANER.clean(html).strip()


_CID = re.compile(r"""\bcid:([^"'\s<>)]+)""", re.IGNORECASE)


def cid_references(html: str) -> set[str]:
    """Content-IDs referenced as cid: URLs (RFC 2392: percent-encoded)."""
    return {unquote(match.group(1)).strip("<>") for match in _CID.finditer(html)}


_BLOCKS = {
    "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "tr", "ul",
    "ol", "dl", "dt", "dd", "hr", "center", "caption", "tbody", "thead", "tfoot",
}  # fmt: skip
_SPACES = re.compile(r"[ \t\r\n\f\v\xa0]+")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._trailing = 2  # newlines at the end of the output; none are wanted at the start
        self._pre = 0
        self._lists: list[list[int]] = []  # per open list: [next number] for <ol>, [] for <ul>
        self._link: str | None = None
        self._link_text: list[str] = []

    def _emit(self, text: str) -> None:
        if not text:
            return
        self.out.append(text)
        content = text.rstrip(" ")
        if content:
            newlines = len(content) - len(content.rstrip("\n"))
            self._trailing = self._trailing + newlines if newlines == len(content) else newlines

    def _newline(self, count: int = 1) -> None:
        """Make the output end with at least `count` line breaks (blocks do not stack up)."""
        self._emit("\n" * max(count - self._trailing, 0))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self._emit("\n")
        elif tag == "li":
            self._newline()
            numbers = self._lists[-1] if self._lists else []
            if numbers:
                self._emit(f"{'  ' * (len(self._lists) - 1)}{numbers[0]}. ")
                numbers[0] += 1
            else:
                self._emit(f"{'  ' * max(len(self._lists) - 1, 0)}- ")
        elif tag in {"td", "th"}:
            self._space()
        elif tag in _BLOCKS:
            self._newline(2 if tag in {"p", "h1", "h2", "h3", "h4", "h5", "h6"} else 1)
            if tag == "pre":
                self._pre += 1
            elif tag == "ol":
                start = dict(attrs).get("start") or "1"
                self._lists.append([int(start) if start.isdigit() else 1])
            elif tag == "ul":
                self._lists.append([])
        elif tag == "a":
            self._link = dict(attrs).get("href")
            self._link_text = []

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCKS:
            self._newline(2 if tag in {"p", "h1", "h2", "h3", "h4", "h5", "h6"} else 1)
            if tag == "pre":
                self._pre = max(self._pre - 1, 0)
            elif tag in {"ol", "ul"} and self._lists:
                self._lists.pop()
        elif tag == "a" and self._link is not None:
            # keep where a web link points: "click here" alone is useless in a ticket
            href, text = self._link, "".join(self._link_text).strip()
            if href.lower().startswith(("http:", "https:")) and href.strip() != text:
                self._emit(f" ({href.strip()})" if text else href.strip())
            self._link = None

    def _space(self) -> None:
        """One separating space, never at the start of a line nor after another space."""
        if not self._trailing and self.out and not self.out[-1].endswith(" "):
            self._emit(" ")

    def handle_data(self, data: str) -> None:
        if not self._pre:
            data = _SPACES.sub(" ", data)
            if self._trailing or (self.out and self.out[-1].endswith(" ")):
                data = data.lstrip(" ")
        self._emit(data)
        if self._link is not None:
            self._link_text.append(data)


def html_to_text(html: str) -> str:
    """Readable plain text from (sanitised) HTML."""
    parser = _TextExtractor()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # html.parser is lenient; this is a last resort, keep what was read
        pass
    lines = "".join(parser.out).replace("\xa0", " ").split("\n")
    text = "\n".join(line.rstrip() for line in lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")
