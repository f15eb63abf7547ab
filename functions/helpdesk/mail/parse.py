"""Raw inbound mail bytes → ParsedMail: a clean, bounded, pure-Python structure.

The MIME tree is split here, iteratively and within explicit limits, rather than by the stdlib
parser: that one recurses once per nesting level (RecursionError on a few hundred nested
multiparts), checks every line against every open boundary and cannot be told to stop after N
parts. The stdlib is still used where it is good: the modern policy's address parser (fed one
address at a time, which keeps its quadratic corners small), compat32 `getaddresses` when that
raises, and date parsing. Forwarded messages are kept whole as .eml attachments and never
descended into, so message/rfc822 nesting costs nothing.

`parse_mail` never raises: whatever goes wrong becomes a note in `defects`.
"""

from __future__ import annotations

import binascii
import email.utils
import mimetypes
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from urllib.parse import unquote_to_bytes

from helpdesk.mail.charsets import (
    Decoder,
    b64decode_lenient,
    clean_label,
    decode_8bit_header,
    decode_words,
)
from helpdesk.mail.html import cid_references, html_to_text, limit_nesting, sanitize_html


@dataclass(frozen=True)
class Address:
    address: str  # lower-cased, stripped; "" if unparseable
    name: str  # decoded display name ("" if none)


@dataclass(frozen=True)
class Attachment:
    filename: str  # decoded, no path separators, never empty
    content_type: str  # lower-case, e.g. "application/pdf"
    content: bytes
    content_id: str | None  # without <>, for inline cid images
    inline: bool  # referenced as cid: from the HTML, or disposition inline with a Content-ID
    size: int


@dataclass(frozen=True)
class Bounce:
    original_message_id: str | None  # of the returned message, else Original-Envelope-Id
    recipients: list[str]  # Original-Recipient (else Final-Recipient) addresses that failed
    status: str  # e.g. "5.1.1"
    action: str  # failed | delayed | delivered | relayed | expanded ("" if none given)
    diagnostic: str  # Diagnostic-Code text, without its "smtp;" type


@dataclass(frozen=True)
class ParsedMail:
    message_id: str | None
    in_reply_to: list[str]
    references: list[str]
    subject: str
    sender: Address
    reply_to: list[Address]
    to: list[Address]
    cc: list[Address]
    date: datetime | None
    text: str
    html: str | None
    text_from_html: bool
    attachments: list[Attachment]
    auto_submitted: bool
    automatic_reason: str | None
    bounce: Bounce | None
    charset_problems: list[str]
    defects: list[str]
    truncated: bool


@dataclass(frozen=True)
class ParseLimits:
    max_bytes: int = 40 * 1024 * 1024
    max_parts: int = 500
    max_depth: int = 20
    max_attachment_bytes: int = 25 * 1024 * 1024
    max_text_chars: int = 2_000_000


# ---------------------------------------------------------------------------------------------
# Parse state


@dataclass
class _Context:
    limits: ParseLimits
    decoder: Decoder = field(default_factory=Decoder)
    defects: list[str] = field(default_factory=list)
    truncated: bool = False
    parts: int = 1
    _seen: set[str] = field(default_factory=set)

    def defect(self, message: str, *, limit: bool = False) -> None:
        self.truncated = self.truncated or limit
        if message not in self._seen and len(self.defects) < 200:
            self._seen.add(message)
            self.defects.append(message)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_LINE_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _one_line(value: str) -> str:
    """Header text for display: no control characters, whitespace runs as one space."""
    return " ".join(_LINE_CONTROL.sub(" ", value).split())


# ---------------------------------------------------------------------------------------------
# Headers


class _Headers:
    def __init__(self, items: list[tuple[str, str]] | None = None) -> None:
        self.items = items or []

    def get(self, name: str) -> str | None:
        return next((value for key, value in self.items if key == name), None)

    def get_all(self, name: str) -> list[str]:
        return [value for key, value in self.items if key == name]

    def __contains__(self, name: object) -> bool:
        return any(key == name for key, _ in self.items)


_HEADER_LINE = re.compile(rb"([\x21-\x39\x3b-\x7e]+)[ \t]*:(.*)", re.S)
_HEADER_START = re.compile(rb"^[\x21-\x39\x3b-\x7e]+[ \t]*:", re.M)
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
_GARBAGE_LINE = re.compile(rb"\A:|[\x00-\x08\x0b-\x1f\x7f]")  # nameless or binary: not text
_MAX_HEADER_LINES = 10_000  # real mail has a few hundred at most (long Received chains)
_MAX_HEADER_VALUE = 256 * 1024


def _decode_header_value(name: str, raw: bytes | bytearray, ctx: _Context) -> str:
    raw = bytes(raw)
    raw = raw.strip(b" \t\r\n")
    if len(raw) > _MAX_HEADER_VALUE:
        ctx.defect(f"header {name[:40]!r} longer than {_MAX_HEADER_VALUE} bytes; cut", limit=True)
        raw = raw[:_MAX_HEADER_VALUE]
    if raw.isascii():
        return raw.decode("ascii")
    text, codec = decode_8bit_header(raw)
    ctx.defect(f"8-bit header {name[:40]!r} decoded as {codec}")
    return text


def _lines(block: bytes) -> Iterator[tuple[int, int, bytes]]:
    """(start, end, line without CR/LF) without splitting a huge block all at once."""
    position = 0
    while position < len(block):
        end = block.find(b"\n", position)
        end = len(block) if end < 0 else end
        yield position, end, block[position:end].rstrip(b"\r")
        position = end + 1


def _split_message(data: bytes, ctx: _Context, *, top: bool = False) -> tuple[_Headers, bytes]:
    """Headers and body of a message or MIME part, tolerating garbage header lines and a
    missing blank line after the headers."""
    if data.startswith((b"\n", b"\r\n")):
        if top:
            ctx.defect("message has no headers")
        return _Headers(), data[data.index(b"\n") + 1 :]
    blank = _BLANK_LINE.search(data)
    block = data[: blank.start()] if blank else data
    body = data[blank.end() :] if blank else b""
    raw_items: list[tuple[str, bytearray]] = []
    next_header = -1  # where the next header-looking line starts (len(block) if none)
    for count, (start, end, line) in enumerate(_lines(block)):
        if count >= _MAX_HEADER_LINES:
            ctx.defect(f"more than {_MAX_HEADER_LINES} header lines; the rest skipped", limit=True)
            break
        if line[:1] in (b" ", b"\t") and raw_items:
            value = raw_items[-1][1]
            if len(value) <= _MAX_HEADER_VALUE:
                value.extend(line)  # unfolding: drop the line break, keep the blank
            continue
        if match := _HEADER_LINE.fullmatch(line):
            raw_items.append((match.group(1).decode("ascii").lower(), bytearray(match.group(2))))
            continue
        if (count == 0 and top and line.startswith(b"From ")) or not (raw_items or line.strip()):
            continue  # an mbox envelope line, or blanks before anything
        if next_header <= start:
            later = _HEADER_START.search(block, end)
            next_header = later.start() if later else len(block)
        if count == 0 and top and next_header == end + 1:
            ctx.defect("garbage header line skipped")  # a junk first line before real headers
        elif not raw_items or (next_header == len(block) and not _GARBAGE_LINE.search(line)):
            # no headers at all, or the blank line before the body is missing
            if top or raw_items:
                ctx.defect("message has no headers" if not raw_items else
                           "no blank line between headers and body")
            body = data[start:]
            break
        else:
            ctx.defect("garbage header line skipped")
    items = [(name, _decode_header_value(name, raw, ctx)) for name, raw in raw_items]
    if top and not items:
        ctx.defect("message has no headers")
    return _Headers(items), body


# Content-Type / Content-Disposition parameters, RFC 2231 and RFC 2047 in values

_PARAM = re.compile(r'\s*([^\s=;"]+)\s*=\s*("(?:[^"\\]|\\.)*"?|[^;]*)', re.S)
_SECTION = re.compile(r"([^*]+)\*(\d{1,3})?(\*)?")
_MAX_PARAM_HEADER = 16 * 1024
_MIME_TYPE = re.compile(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+")


def _unquote(raw: str) -> str:
    inner = raw[1:-1] if len(raw) > 1 and raw.endswith('"') else raw[1:]
    # only \" and \\ are escapes: Windows paths arrive with bare backslashes
    return re.sub(r'\\([\\"])', r"\1", inner)


def _rfc2231(sections: dict[int, tuple[str, bool]], decoder: Decoder) -> str:
    charset = ""
    data = bytearray()
    for position, index in enumerate(sorted(sections)):
        text, extended = sections[index]
        if extended:
            if position == 0 and text.count("'") >= 2:
                charset, _language, text = text.split("'", 2)
            data += unquote_to_bytes(text)
        else:
            data += text.encode("utf-8", errors="replace")
    return decoder.decode(bytes(data), charset or None)


def _params(value: str, decoder: Decoder) -> tuple[str, dict[str, str]]:
    """Main value (lower-case) and parameters (decoded) of a MIME header."""
    main, _, rest = value[:_MAX_PARAM_HEADER].partition(";")
    plain: dict[str, str] = {}
    sections: dict[str, dict[int, tuple[str, bool]]] = {}
    position = 0
    while position < len(rest) and len(plain) + len(sections) < 64:
        match = _PARAM.match(rest, position)
        end = match.end() if match else position
        semicolon = rest.find(";", end)
        position = len(rest) if semicolon < 0 else semicolon + 1
        if not match:
            continue
        name, raw = match.group(1).lower(), match.group(2).strip()
        if raw.startswith('"'):
            raw = _unquote(raw)
        if section := _SECTION.fullmatch(name):
            index = int(section.group(2)) if section.group(2) else 0
            extended = bool(section.group(3)) or section.group(2) is None
            sections.setdefault(section.group(1), {})[index] = (raw, extended)
        else:
            plain.setdefault(name, raw)
    params = {name: decode_words(raw, decoder) for name, raw in plain.items()}
    for name, parts in sections.items():
        params[name] = _rfc2231(parts, decoder)  # the RFC 2231 form wins over a plain one
    return main.strip().strip('"').lower(), params


# Addresses

_ENCODED_RUN = r"=\?[^?\s]+\?[bBqQ]\?[^?]*\?=(?:\s*=\?[^?\s]+\?[bBqQ]\?[^?]*\?=)*"
_ADDRESS_TOKEN = re.compile(r'\\.|["(),:;<>]|' + _ENCODED_RUN, re.S)
_MAX_ADDRESS_CHUNK = 2048  # the stdlib parser is quadratic in places: never feed it more
_MAX_ADDRESSES = 1000
_ATOM = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~.-]+")
_DOMAIN = re.compile(r"[^\s@<>()\[\],;:\"\\]+|\[[^\[\]\s]+\]")


def _escape(text: str, specials: str) -> str:
    return "".join("\\" + char if char in specials else char for char in text)


def _address_chunks(value: str, decoder: Decoder, limit: int) -> list[str]:
    """Split an address list at top-level commas (and group syntax), decoding encoded words
    into quoted text first so the address parser sees plain Unicode."""
    chunks: list[str] = []
    current: list[str] = []
    quoted = False
    comment = angle = 0
    position = 0
    for match in _ADDRESS_TOKEN.finditer(value):
        current.append(value[position : match.start()])
        position = match.end()
        token = match.group()
        top_level = not quoted and not comment and not angle
        if token.startswith("=?"):
            text = decode_words(token, decoder)
            if quoted:
                current.append(_escape(text, '"\\'))
            elif comment:
                current.append(_escape(text, "()\\"))
            else:
                current.append('"' + _escape(text, '"\\') + '"')
            continue
        if token == '"' and not comment:
            quoted = not quoted
        elif token == "(" and not quoted:
            comment += 1
        elif token == ")" and not quoted and comment:
            comment -= 1
        elif token == "<" and not quoted and not comment:
            angle += 1
        elif token == ">" and not quoted and not comment and angle:
            angle -= 1
        elif token in {",", ";"} and top_level:
            if chunk := "".join(current).strip():
                chunks.append(chunk)
                if len(chunks) > limit:
                    return chunks
            current = []
            continue
        elif token == ":" and top_level:
            current = []  # "group name:" introduces its members
            continue
        current.append(token)
    current.append(value[position:])
    if chunk := "".join(current).strip():
        chunks.append(chunk)
    return chunks


def _clean_address(spec: str) -> str:
    spec = spec.strip().strip("<>").strip().lower()
    if _LINE_CONTROL.search(spec):
        return ""
    if "@" in spec:
        local, _, domain = spec.rpartition("@")
        valid = bool(local) and not any(c.isspace() for c in local) and _DOMAIN.fullmatch(domain)
        return spec if valid else ""
    return spec if _ATOM.fullmatch(spec) else ""  # MAILER-DAEMON, root: local-only senders


def _parse_chunk(chunk: str) -> list[tuple[str, str]]:
    try:
        header = policy.default.header_factory("to", chunk)
        return [(a.display_name or "", a.addr_spec or "") for a in header.addresses]
    except Exception:  # the modern parser has IndexError/RecursionError corners
        pass
    try:
        return [(name, address) for name, address in email.utils.getaddresses([chunk])]
    except Exception:
        return []


def _addresses(values: list[str], ctx: _Context) -> list[Address]:
    result: list[Address] = []
    for value in values:
        for chunk in _address_chunks(value, ctx.decoder, _MAX_ADDRESSES):
            if len(result) >= _MAX_ADDRESSES:
                ctx.defect(f"more than {_MAX_ADDRESSES} addresses in a header; the rest skipped")
                return result
            if len(chunk) > _MAX_ADDRESS_CHUNK:
                ctx.defect("overlong address skipped")
                continue
            for name, spec in _parse_chunk(chunk):
                address = _clean_address(spec)
                name = _one_line(name)
                if not address and not name and spec.strip().strip('"<>'):
                    name = _one_line(spec.strip().strip('"'))  # "Only A Name" with no address
                if address or name:
                    result.append(Address(address, name))
    return result


# Message-IDs and dates

_BRACKETED_ID = re.compile(r"<\s*([^<>\s]{1,900})\s*>")
_BARE_ID = re.compile(r"[^<>\s@]{1,900}@[^<>\s@]{1,255}")


def _message_ids(value: str | None) -> list[str]:
    if not value:
        return []
    ids = _BRACKETED_ID.findall(value)
    if not ids:  # clients that leave the brackets out
        ids = [token for token in value.replace(",", " ").split() if _BARE_ID.fullmatch(token)]
    return list(dict.fromkeys(_LINE_CONTROL.sub("", token) for token in ids if token))


def _date(value: str | None, ctx: _Context) -> datetime | None:
    if not value or not value.strip():
        return None
    try:
        moment = email.utils.parsedate_to_datetime(value.strip()[:200])
        if moment.tzinfo is None:  # "-0000": zone unknown, take it as UTC
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    except Exception:
        ctx.defect("unparseable Date header")
        return None


# ---------------------------------------------------------------------------------------------
# MIME tree


@dataclass(eq=False)
class _Part:
    headers: _Headers
    body: bytes
    depth: int
    ctype: str
    params: dict[str, str]
    disposition: str
    filename: str
    children: list[_Part] = field(default_factory=list)
    skipped: bool = False  # a multipart whose content a limit kept from being read


def _make_part(data: bytes, depth: int, default: str, ctx: _Context, top: bool = False) -> _Part:
    headers, body = _split_message(data, ctx, top=top)
    ctype, params = default, dict[str, str]()
    if (value := headers.get("content-type")) is not None:
        ctype, params = _params(value, ctx.decoder)
        if ctype == "text":
            ctype = "text/plain"
        elif not _MIME_TYPE.fullmatch(ctype):
            ctx.defect(f"invalid Content-Type {ctype[:40]!r}; read as {default}")
            ctype = default
    disposition, disposition_params = _params(headers.get("content-disposition") or "", ctx.decoder)
    filename = disposition_params.get("filename") or params.get("name") or ""
    return _Part(headers, body, depth, ctype, params, disposition, filename)


_GUESS_BOUNDARY = re.compile(
    rb"(?:\A|\n)--([!-~]{1,200}?)[ \t]*\r?\n(?=(?i:content-[a-z-]+)[ \t]*:)"
)


def _find_parts(body: bytes, boundary: bytes, limit: int) -> tuple[list[bytes], bool, bool]:
    """Bodies between boundary lines: (bodies, boundary found, closing boundary found).
    The line break before a boundary line belongs to the boundary (RFC 2046)."""
    delimiter = re.compile(rb"^--" + re.escape(boundary) + rb"(--)?[ \t]*\r?$", re.M)
    bodies: list[bytes] = []
    start: int | None = None
    for match in delimiter.finditer(body):
        end = match.start() - 1 if match.start() else 0
        if end and body[end - 1] == 0x0D:
            end -= 1
        if start is not None:
            bodies.append(body[start:end])
        if match.group(1):
            return bodies, True, True
        if len(bodies) > limit:
            return bodies, True, False
        start = match.end() + 1
    if start is not None:
        bodies.append(body[start:])
    return bodies, start is not None, False


def _as_text(part: _Part) -> None:
    part.ctype, part.params = "text/plain", {}


def _split_multipart(part: _Part, ctx: _Context) -> list[bytes] | None:
    limit = ctx.limits.max_parts
    boundary = part.params.get("boundary", "")
    bodies, found, closed = (
        _find_parts(part.body, boundary.encode("utf-8", errors="replace"), limit)
        if boundary
        else ([], False, False)
    )
    if not found:
        guessed = _GUESS_BOUNDARY.search(part.body[: 64 * 1024])
        if guessed is None:
            problem = "boundary parameter missing" if not boundary else "boundary not found"
            ctx.defect(f"{part.ctype}: {problem}; content read as text")
            _as_text(part)
            return None
        ctx.defect(f"{part.ctype}: boundary missing or wrong; guessed from the content")
        bodies, found, closed = _find_parts(part.body, guessed.group(1), limit)
    if not closed:
        ctx.defect(f"{part.ctype}: closing boundary missing")
    return bodies


def _build_tree(raw: bytes, ctx: _Context) -> _Part:
    """The part tree, built without recursion and within the depth and part limits."""
    root = _make_part(raw, 0, "text/plain", ctx, top=True)
    stack = [root]
    while stack:
        part = stack.pop()
        if not part.ctype.startswith("multipart/"):
            continue
        if part.depth >= ctx.limits.max_depth:
            part.skipped = True
            ctx.defect(f"multipart nested deeper than {ctx.limits.max_depth} levels; skipped",
                       limit=True)
            continue
        bodies = _split_multipart(part, ctx)
        default = "message/rfc822" if part.ctype == "multipart/digest" else "text/plain"
        for body in bodies or []:
            if ctx.parts >= ctx.limits.max_parts:
                ctx.defect(f"more than {ctx.limits.max_parts} MIME parts; the rest skipped",
                           limit=True)
                break
            ctx.parts += 1
            part.children.append(_make_part(body, part.depth + 1, default, ctx))
        stack.extend(reversed(part.children))
    return root


# ---------------------------------------------------------------------------------------------
# Content


def _uudecode(data: bytes) -> bytes:
    out = bytearray()
    for line in data.splitlines():
        if line.startswith((b"begin ", b"end")) or not line.strip():
            continue
        try:
            out += binascii.a2b_uu(line)
        except binascii.Error:
            continue
    return bytes(out)


def _content(part: _Part, ctx: _Context) -> bytes:
    """The part's body with its Content-Transfer-Encoding undone."""
    encoding = clean_label(part.headers.get("content-transfer-encoding"))
    if encoding == "base64":
        data, clean = b64decode_lenient(part.body)
        if not clean:
            ctx.defect(f"{part.ctype}: broken base64; decoded what was possible")
        return data
    if encoding == "quoted-printable":
        try:
            return binascii.a2b_qp(part.body)
        except (binascii.Error, ValueError):
            ctx.defect(f"{part.ctype}: broken quoted-printable")
            return part.body
    if encoding in {"x-uuencode", "uuencode", "x-uue", "uue"}:
        return _uudecode(part.body)
    if encoding not in {"", "7bit", "8bit", "binary"}:
        ctx.defect(f"unknown Content-Transfer-Encoding {encoding[:40]!r}; content kept as is")
    return part.body


_META_CHARSET = re.compile(
    rb"""<meta[^>]{0,200}?charset\s*=\s*["']?([A-Za-z0-9_.:-]{1,40})""", re.IGNORECASE
)


def _text(part: _Part, ctx: _Context) -> str:
    data = _content(part, ctx)
    # no charset needs more than 4 bytes a character (utf-7 and ISO-2022 escapes aside): do not
    # decode 40 MB to keep 2 million characters
    data = data[: 4 * ctx.limits.max_text_chars + 64]
    charset = part.params.get("charset")
    meta = _META_CHARSET.search(data[:4096]) if part.ctype == "text/html" else None
    if not charset and meta:
        charset = meta.group(1).decode("ascii")
    return ctx.decoder.decode(data, charset).replace("\r\n", "\n").replace("\r", "\n")


@dataclass
class _Pending:
    part: _Part
    content: bytes
    content_id: str | None


@dataclass
class _Collected:
    texts: list[str] = field(default_factory=list)
    htmls: list[str] = field(default_factory=list)
    attachments: list[_Pending] = field(default_factory=list)


def _is_body_text(part: _Part, root: bool) -> bool:
    return (
        part.ctype in ("text/plain", "text/html")
        and part.disposition != "attachment"
        and (root or not part.filename)
    )


def _provides(part: _Part) -> tuple[bool, bool]:
    """Whether a subtree holds body text: (plain, html)."""
    plain = html = False
    stack = [part]
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        if _is_body_text(node, False):
            plain = plain or node.ctype == "text/plain"
            html = html or node.ctype == "text/html"
    return plain, html


_Frame = tuple[_Part, bool, bool]  # part, wants plain text, wants HTML


def _child_frames(part: _Part, plain: bool, html: bool, ctx: _Context) -> list[_Frame]:
    children = part.children
    kind = part.ctype.partition("/")[2]
    if kind == "alternative":
        provides = [_provides(child) for child in children]
        plain_at = next((i for i, (p, _) in enumerate(provides) if p), None)
        html_at = next((i for i in reversed(range(len(children))) if provides[i][1]), None)
        frames: list[_Frame] = []
        for index, child in enumerate(children):
            wants = (plain and index == plain_at, html and index == html_at)
            if any(wants):
                frames.append((child, *wants))
            elif not any(provides[index]) and not (
                child.ctype.startswith("text/") and child.ctype != "text/calendar"
            ):
                frames.append((child, False, False))  # e.g. a calendar invitation
        return frames
    if kind == "related":
        start = (part.params.get("start") or "").strip().strip("<>")
        root_at = next((i for i, c in enumerate(children) if start and _cid(c) == start), 0)
        return [(c, plain, html) if i == root_at else (c, False, False)
                for i, c in enumerate(children)]
    if kind == "signed":
        return [(c, plain, html) if i == 0 else (c, False, False) for i, c in enumerate(children)]
    if kind == "encrypted":
        ctx.defect("multipart/encrypted content was not decrypted")
        return [(c, False, False) for c in children]
    return [(c, plain, html) for c in children]


def _cid(part: _Part) -> str | None:
    value = part.headers.get("content-id")
    cid = _one_line(value).strip("<> ") if value else ""
    return cid[:900] or None


def _collect(root: _Part, ctx: _Context) -> _Collected:
    out = _Collected()
    stack: list[_Frame] = [(root, True, True)]
    while stack:
        part, plain, html = stack.pop()
        if part.skipped:
            continue
        if part.ctype.startswith("multipart/"):
            stack.extend(reversed(_child_frames(part, plain, html, ctx)))
        elif _is_body_text(part, part is root):
            if plain and part.ctype == "text/plain":
                out.texts.append(_text(part, ctx))
            elif html and part.ctype == "text/html":
                out.htmls.append(_text(part, ctx))
            # otherwise: an alternative rendering of text already taken
        else:
            if part.ctype in ("application/pkcs7-mime", "application/x-pkcs7-mime"):
                ctx.defect("S/MIME encrypted or opaque-signed content was not decoded")
            out.attachments.append(_Pending(part, _content(part, ctx), _cid(part)))
    return out


# Attachments

_EXTENSIONS = {
    "message/rfc822": "eml",
    "message/global": "eml",
    "text/plain": "txt",
    "text/html": "html",
    "text/calendar": "ics",
    "image/jpeg": "jpg",
    "application/octet-stream": "bin",
    "application/pkcs7-signature": "p7s",
    "application/x-pkcs7-signature": "p7s",
    "application/pkcs7-mime": "p7m",
    "application/x-pkcs7-mime": "p7m",
    "application/pgp-signature": "asc",
    "application/pgp-encrypted": "asc",
    "message/delivery-status": "txt",
    "message/disposition-notification": "txt",
    "text/rfc822-headers": "txt",
}
_DEFAULT_NAMES = {
    "application/pkcs7-signature": "smime.p7s",
    "application/x-pkcs7-signature": "smime.p7s",
    "application/pkcs7-mime": "smime.p7m",
    "application/x-pkcs7-mime": "smime.p7m",
}
_MIME_TYPES = mimetypes.MimeTypes()  # built-in table only: the same names on every host
_UNSAFE_NAME = re.compile(r'[<>:"|?*]')


def _safe_filename(name: str, *, keep_slashes: bool = False) -> str:
    """A file name without directories, control or bidi characters; "" if nothing is left."""
    name = unicodedata.normalize("NFC", _LINE_CONTROL.sub("", name))
    if keep_slashes:  # a subject: "1/2" is text, not a directory
        name = name.replace("/", "_").replace("\\", "_")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = " ".join(_UNSAFE_NAME.sub("_", name).split()).strip(" .")
    if len(name) > 150:
        stem, dot, extension = name.rpartition(".")
        name = stem[:140] + dot + extension if dot and len(extension) <= 8 else name[:150]
    return name


def _extension(ctype: str) -> str:
    if ctype in _EXTENSIONS:
        return _EXTENSIONS[ctype]
    guessed = _MIME_TYPES.guess_extension(ctype, strict=False)
    return guessed.lstrip(".") if guessed else "bin"


def _filename(pending: _Pending, number: int) -> str:
    part = pending.part
    if part.ctype in ("message/rfc822", "message/global"):
        headers, _ = _split_message(pending.content[: 256 * 1024], _Context(ParseLimits()))
        scratch = Decoder(guesses=1)  # the forwarded mail's charset notes are not ours
        subject = _safe_filename(_one_line(decode_words(headers.get("subject") or "", scratch)),
                                 keep_slashes=True)
        if subject:
            return subject[:120] + ".eml"
    name = _safe_filename(part.filename)
    return name or _DEFAULT_NAMES.get(part.ctype) or f"attachment-{number}.{_extension(part.ctype)}"


def _attachments(pending: list[_Pending], html: str, ctx: _Context) -> list[Attachment]:
    references = cid_references(html)
    result: list[Attachment] = []
    seen: set[tuple[str, str, str | None, bytes]] = set()
    for item in pending:
        key = (item.part.ctype, item.part.filename, item.content_id, item.content)
        if key in seen:  # the same part reached through two alternatives
            continue
        seen.add(key)
        name = _filename(item, len(result) + 1)
        if len(item.content) > ctx.limits.max_attachment_bytes:
            ctx.defect(f"attachment {name!r} ({len(item.content)} bytes) is over the size limit; "
                       "left out", limit=True)
            continue
        inline = item.content_id is not None and (
            item.content_id in references or item.part.disposition == "inline"
        )
        result.append(Attachment(name, item.part.ctype, item.content, item.content_id, inline,
                                 len(item.content)))
    return result


# ---------------------------------------------------------------------------------------------
# Delivery status notifications and automatic mail

_STATUS = re.compile(r"[245]\.\d{1,3}\.\d{1,3}")
_ACTIONS = ("failed", "delayed", "delivered", "relayed", "expanded")


def _report(root: _Part) -> _Part | None:
    stack = [root]
    while stack:
        part = stack.pop()
        if part.ctype == "multipart/report":
            return part
        stack.extend(reversed(part.children))
    return None


def _recipient(value: str) -> str:
    address = value.partition(";")[2] if ";" in value else value
    return _clean_address(address)


def _bounce(report: _Part, ctx: _Context) -> Bounce:
    scratch = _Context(ctx.limits)  # header noise inside the report is not the mail's defect
    fields: list[_Headers] = []
    original_id: str | None = None
    for child in report.children:
        if child.ctype in ("message/delivery-status", "message/global-delivery-status"):
            text = _content(child, ctx).decode("utf-8", errors="replace")
            for block in re.split(r"\r?\n[ \t]*\r?\n", text.strip()):
                fields.append(_split_message(block.encode("utf-8"), scratch)[0])
        elif child.ctype in ("message/rfc822", "message/global", "text/rfc822-headers",
                             "message/global-headers") and original_id is None:
            returned, _ = _split_message(_content(child, ctx)[: 256 * 1024], scratch)
            original_id = next(iter(_message_ids(returned.get("message-id"))), None)
    per_message = fields[0] if fields else _Headers()
    if original_id is None and (envelope := per_message.get("original-envelope-id")):
        original_id = _one_line(envelope).strip("<>") or None
    recipients: list[tuple[str, _Headers]] = []
    for block in fields:
        if not any(name in block for name in ("final-recipient", "original-recipient", "action")):
            continue
        action = (block.get("action") or "").strip().lower().split(" ")[0]
        if action not in _ACTIONS:
            status = _STATUS.search(block.get("status") or "")
            action = {"5": "failed", "4": "delayed", "2": "delivered"}.get(
                status.group()[0] if status else "", "")
        recipients.append((action, block))
    if not recipients:
        return Bounce(original_id, [], "", "", "")
    action = min((a for a, _ in recipients), key=lambda a: _ACTIONS.index(a) if a else 99)
    chosen = [block for a, block in recipients if a == action]
    addresses = [
        _recipient(block.get("original-recipient") or block.get("final-recipient") or "")
        for block in chosen
    ]
    status = _STATUS.search(chosen[0].get("status") or "")
    diagnostic = _one_line(chosen[0].get("diagnostic-code") or "")
    diagnostic = re.sub(r"^[A-Za-z0-9-]+\s*;\s*", "", diagnostic)
    return Bounce(original_id, list(dict.fromkeys(a for a in addresses if a)),
                  status.group() if status else "", action, diagnostic)


def _keyword(value: str) -> str:
    """The leading token of a header, without parameters or comments: "no (manual)" → "no"."""
    match = re.match(r"\s*([A-Za-z0-9_.-]*)", value)
    return match.group(1).lower() if match else ""


def _automatic(headers: _Headers, sender: Address, report: _Part | None) -> str | None:
    """Why the mail was sent by a machine (never auto-reply to it), or None."""
    submitted = headers.get("auto-submitted")
    if submitted is not None and _keyword(submitted) != "no":
        return f"Auto-Submitted: {_one_line(submitted)[:60]}"
    precedence = _keyword(headers.get("precedence") or "")
    if precedence in {"bulk", "junk", "list", "auto_reply"}:
        return f"Precedence: {precedence}"
    # Microsoft's X-Auto-Response-Suppress asks us not to auto-reply: its presence is enough
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"):
        if name.lower() in headers:
            return name
    local = sender.address.partition("@")[0]
    if local in {"mailer-daemon", "postmaster"}:
        return f"sender {local}"
    if report is not None:
        kind = _one_line(report.params.get("report-type", "")).lower()[:40]
        return "delivery status notification" if kind == "delivery-status" else (
            f"multipart/report ({kind or 'no report-type'})")
    return None


# ---------------------------------------------------------------------------------------------
# Entry point


def _limited(text: str, what: str, ctx: _Context) -> str:
    if len(text) > ctx.limits.max_text_chars:
        ctx.defect(f"{what} longer than {ctx.limits.max_text_chars} characters; cut", limit=True)
        return text[: ctx.limits.max_text_chars]
    return text


def _parse(raw: bytes, limits: ParseLimits) -> ParsedMail:
    ctx = _Context(limits)
    raw = bytes(raw)
    if len(raw) > limits.max_bytes:
        ctx.defect(f"message larger than {limits.max_bytes} bytes; only the start was read",
                   limit=True)
        raw = raw[: limits.max_bytes]
    root = _build_tree(raw, ctx)
    headers = root.headers
    collected = _collect(root, ctx)

    raw_html = _limited("\n".join(collected.htmls), "HTML body", ctx)
    html: str | None = None
    if collected.htmls:
        nested_html, cut = limit_nesting(raw_html)
        if cut:
            ctx.defect("HTML nested too deeply; the deepest tags were dropped")
        html = _CONTROL.sub("", sanitize_html(nested_html)) or None
    text = _CONTROL.sub("", _limited("\n".join(collected.texts), "text body", ctx)).strip("\n")
    text_from_html = not text.strip() and html is not None
    if text_from_html and html is not None:
        text = _limited(html_to_text(html), "text body", ctx)

    sender = next(iter(_addresses(headers.get_all("from")[:1], ctx)), Address("", ""))
    report = _report(root)
    is_dsn = report is not None and report.params.get("report-type", "").lower() == (
        "delivery-status")
    bounce = _bounce(report, ctx) if report is not None and is_dsn else None
    reason = _automatic(headers, sender, report)
    attachments = _attachments(collected.attachments, raw_html, ctx)
    subject = _one_line(decode_words(headers.get("subject") or "", ctx.decoder))
    return ParsedMail(
        message_id=next(iter(_message_ids(headers.get("message-id"))), None),
        in_reply_to=_message_ids(" ".join(headers.get_all("in-reply-to"))),
        references=_message_ids(" ".join(headers.get_all("references"))),
        subject=subject[: limits.max_text_chars],
        sender=sender,
        reply_to=_addresses(headers.get_all("reply-to"), ctx),
        to=_addresses(headers.get_all("to"), ctx),
        cc=_addresses(headers.get_all("cc"), ctx),
        date=_date(headers.get("date"), ctx),
        text=text,
        html=html,
        text_from_html=text_from_html,
        attachments=attachments,
        auto_submitted=reason is not None,
        automatic_reason=reason,
        bounce=bounce,
        charset_problems=list(ctx.decoder.problems),
        defects=list(ctx.defects),
        truncated=ctx.truncated,
    )


def parse_mail(raw: bytes, limits: ParseLimits = ParseLimits()) -> ParsedMail:
    """Parse raw RFC 5322 bytes. Never raises; problems are reported in `defects`."""
    try:
        return _parse(raw, limits)
    except Exception as error:  # the contract: a mail is never lost to a parser bug
        return _fallback(raw, limits, error)


def _fallback(raw: bytes, limits: ParseLimits, error: Exception) -> ParsedMail:
    try:
        data = bytes(raw)
    except Exception:
        data = b""
    text = data[: limits.max_bytes].decode("utf-8", errors="replace")[: limits.max_text_chars]
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return ParsedMail(
        message_id=None, in_reply_to=[], references=[], subject="", sender=Address("", ""),
        reply_to=[], to=[], cc=[], date=None, text=_CONTROL.sub("", text), html=None,
        text_from_html=False, attachments=[], auto_submitted=False, automatic_reason=None,
        bounce=None, charset_problems=[],
        defects=[f"parser failure ({type(error).__name__}); body read as raw text"],
        truncated=len(data) > limits.max_bytes,
    )
