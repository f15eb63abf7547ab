"""Charset labels as mail really uses them, and decoding that never fails.

A label is normalised through an alias table (the mislabels seen in the wild), then decoded
strictly with the codec or a superset of it (gb2312 → gb18030, shift_jis → cp932, ...). When that
fails, or the label is unknown or missing, the bytes are tried as utf-8, then guessed with
charset-normalizer, then decoded as windows-1251/latin-1; every guess is written down in
`Decoder.problems`. Nothing here raises on bad input and nothing returns lone surrogates.

Also here: RFC 2047 encoded words and lenient base64, since both end in a charset decode.
"""

from __future__ import annotations

import binascii
import codecs
import re

from charset_normalizer import from_bytes

# Label (lower-case, after generic rules) → codec name. Mislabels seen in real mail included.
_ALIASES: dict[str, str] = {
    "koi8r": "koi8-r",
    "koi8": "koi8-r",
    "koi8u": "koi8-u",
    "koi8-ru": "koi8-u",
    "unicode-1-1-utf-7": "utf-7",
    "utf7": "utf-7",
    "x-utf-7": "utf-7",
    "csunicode11utf7": "utf-7",
    "utf8": "utf-8",
    "x-utf8": "utf-8",
    "x-utf-8": "utf-8",
    "utf8mb4": "utf-8",
    "x-mac-cyrillic": "mac-cyrillic",
    "x-mac-ukrainian": "mac-cyrillic",
    "x-mac-roman": "mac-roman",
    "macintosh": "mac-roman",
    "x-sjis": "cp932",
    "windows-31j": "cp932",
    "x-ms-cp932": "cp932",
    "ms_kanji": "cp932",
    "csshiftjis": "cp932",
    "x-euc-jp": "euc_jp",
    "x-euc-cn": "gb18030",
    "x-gbk": "gb18030",
    "x-windows-949": "cp949",
    "windows-949": "cp949",
    "ks_c_5601": "cp949",
    "ksc5601": "cp949",
    "ksc_5601": "cp949",
    "ks_c_5601-1989": "cp949",
    "x-x-big5": "big5",
    "cn-big5": "big5",
    "iso-8859-8-i": "iso8859-8",
    "iso-8859-8-e": "iso8859-8",
    "iso-8859-6-i": "iso8859-6",
    "iso-8859-6-e": "iso8859-6",
    "tis-620": "cp874",
    "iso-8859-11": "cp874",
}

# Codec (as codecs.lookup names it) → codecs to try in order: the real-world superset first.
_SUPERSETS: dict[str, tuple[str, ...]] = {
    "gb2312": ("gb18030",),  # gb2312 labels routinely carry GBK/GB18030-only characters
    "gbk": ("gb18030",),
    "hz": ("hz", "gb18030"),
    "euc_kr": ("cp949",),
    "shift_jis": ("cp932", "shift_jis_2004"),
    "cp932": ("cp932", "shift_jis_2004"),
    "euc_jp": ("euc_jp", "euc_jis_2004", "cp932"),
    "iso2022_jp": ("iso2022_jp", "iso2022_jp_2", "iso2022_jp_ext", "iso2022_jp_3"),
    "big5": ("cp950", "big5hkscs"),
    "iso8859-1": ("cp1252", "latin-1"),  # as browsers do: C1 bytes are windows-1252 letters
    "iso8859-9": ("cp1254", "iso8859-9"),
}

# Codecs that are not charsets (or that turn bytes into something other than their text).
_NOT_CHARSETS = frozenset(
    {"undefined", "unicode_escape", "raw_unicode_escape", "idna", "punycode", "mbcs", "oem"}
)

_WINDOWS_LABEL = re.compile(r"(?:x-)?(?:cp|win|windows|ms|ansi)[-_ ]?(\d{3,5})")
_ISO_LABEL = re.compile(r"(?:iso)?[-_ ]?8859[-_ ]?(\d{1,2})(?:[-:]\d{4})?")
_GUESS_SAMPLE = 64 * 1024  # charset-normalizer sees this much; the whole text is then decoded
_GUESS_MIN = 24  # below this many bytes charset-normalizer guesses wildly (big5 for "Привет")


def _codec(name: str) -> str | None:
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError, TypeError):
        return None
    # bytes-to-bytes codecs (base64, zlib, rot13) are not charsets
    if not getattr(info, "_is_text_encoding", True) or info.name.replace("-", "_") in _NOT_CHARSETS:
        return None
    return info.name


def clean_label(label: str | None) -> str:
    """The label as written, lower-case, without quotes, spaces or an RFC 2231 language."""
    if not label:
        return ""
    return label.strip().strip("\"'").split("*", 1)[0].strip().lower()[:64]


def normalize_charset(label: str | None) -> str | None:
    """The Python codec for a mail charset label, or None when it is unknown."""
    name = clean_label(label)
    if not name:
        return None
    name = _ALIASES.get(name, name)
    if name in {"gb2312", "gb_2312-80", "csgb2312", "euc-cn", "gbk", "cp936", "ms936", "chinese"}:
        return "gb18030"
    if match := _WINDOWS_LABEL.fullmatch(name):
        return _codec("cp" + match.group(1))
    if match := _ISO_LABEL.fullmatch(name):
        return _codec("iso8859-" + match.group(1))
    return _codec(name)


def display_name(codec: str) -> str:
    """How a codec is named in notes: windows-1251 rather than cp1251."""
    name = _codec(codec) or codec
    if re.fullmatch(r"cp125\d", name):
        return "windows-" + name[2:]
    return name.replace("_", "-")


_SURROGATE = re.compile("[\ud800-\udfff]")


def _strict(data: bytes, codec: str) -> str | None:
    try:
        text = data.decode(codec)
    except (UnicodeError, LookupError, ValueError):
        return None
    # utf-7 "decodes" lone surrogates, which no utf-8 consumer (JSON, DynamoDB) can store
    text = _SURROGATE.sub("\ufffd", text)
    return text[1:] if text.startswith("\ufeff") else text


def _mostly_utf8(data: bytes) -> str | None:
    """utf-8 with replacement when nearly all non-ascii bytes form valid utf-8: text in other
    charsets practically never contains valid multi-byte sequences."""
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd") - data.decode("utf-8", errors="ignore").count("\ufffd")
    good = len(text) - len(text.encode("ascii", errors="ignore")) - bad
    return text if bad and good >= 4 * bad else None


def decode_8bit_header(data: bytes) -> tuple[str, str]:
    """Raw 8-bit header bytes: utf-8 (RFC 6532), else windows-1251, else latin-1."""
    for codec in ("utf-8", "cp1251"):
        text = _strict(data, codec)
        if text is not None:
            return text, display_name(codec)
    return data.decode("latin-1"), "latin-1"


class Decoder:
    """Decodes text parts and header words, collecting notes about every guess it made."""

    def __init__(self, guesses: int = 24) -> None:
        self.problems: list[str] = []
        # charset-normalizer costs milliseconds per call; a mail of 500 parts must stay bounded
        self._guesses_left = guesses

    def _note(self, message: str) -> None:
        if message not in self.problems and len(self.problems) < 100:
            self.problems.append(message)

    def _guess(self, data: bytes) -> tuple[str, str]:
        """Best-effort decode of bytes that are not ascii or utf-8: (text, codec name)."""
        if len(data) >= _GUESS_MIN and self._guesses_left > 0:
            self._guesses_left -= 1
            try:
                best = from_bytes(data[:_GUESS_SAMPLE]).best()
                codec = _codec(best.encoding) if best is not None else None
                # utf-16/32 without a BOM is what junk looks like to the guesser, not mail text
                if codec is not None and not codec.startswith(("utf-16", "utf-32")):
                    return data.decode(codec, errors="replace"), display_name(codec)
            except Exception:  # a guesser bug must not lose the mail
                pass
        for codec in ("cp1251", "latin-1"):
            text = _strict(data, codec)
            if text is not None:
                return text, display_name(codec)
        return data.decode("latin-1"), "latin-1"  # pragma: no cover - latin-1 never fails

    def decode(self, data: bytes, label: str | None) -> str:
        """Text from bytes in the declared charset; never raises, never returns surrogates."""
        if not data:
            return ""
        written = clean_label(label)
        codec = normalize_charset(written) if written else None
        if codec is not None:
            for candidate in _SUPERSETS.get(codec, (codec,)):
                text = _strict(data, candidate)
                if text is not None:
                    return text
        if data.isascii() and b"\x1b" not in data:
            return data.decode("ascii")
        text = _strict(data, "utf-8") if codec != "utf-8" else None
        if text is not None:
            if written and codec is None:
                self._note(f"unknown charset {written!r} decoded as utf-8")
            elif written:
                self._note(f"charset {written!r} does not match the content; decoded as utf-8")
            return text
        text = _mostly_utf8(data)
        if text is not None:
            # utf-8 cut mid-character or with a few bad bytes: still utf-8, not a guess
            if codec not in (None, "utf-8"):
                self._note(f"charset {written!r} does not match the content; decoded as utf-8")
            self._note("invalid utf-8 sequences replaced")
            return text
        text, used = self._guess(data)
        if not written:
            self._note(f"no charset declared; decoded as {used} (best effort)")
        elif codec is None:
            self._note(f"unknown charset {written!r} decoded as {used} (best effort)")
        else:
            self._note(f"charset {written!r} does not match the content; decoded as {used} "
                       "(best effort)")
        return text


_B64_JUNK = re.compile(rb"[^A-Za-z0-9+/=]")
_WHITESPACE = re.compile(rb"\s+")


def b64decode_lenient(data: bytes) -> tuple[bytes, bool]:
    """Decode what can be decoded: (bytes, clean). Tolerates junk, bad padding and chunks
    encoded separately and glued together (padding in the middle)."""
    compact = _WHITESPACE.sub(b"", data)
    try:
        return binascii.a2b_base64(compact, strict_mode=True), True
    except (binascii.Error, ValueError):
        pass
    out = bytearray()
    for chunk in re.split(rb"=+", _B64_JUNK.sub(b"", compact)):
        if len(chunk) % 4 == 1:  # a lone trailing character carries no whole byte
            chunk = chunk[:-1]
        if chunk:
            out += binascii.a2b_base64(chunk + b"=" * (-len(chunk) % 4))
    return bytes(out), False


_QP_HEX = re.compile(rb"=([0-9A-Fa-f]{2})")
_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,64})\?([bBqQ])\?([^?]*)\?=")


def _word_bytes(encoding: str, text: str) -> bytes:
    raw = text.encode("utf-8", errors="replace")
    if encoding in "bB":
        return b64decode_lenient(raw)[0]
    return _QP_HEX.sub(lambda m: bytes([int(m.group(1), 16)]), raw.replace(b"_", b" "))


def decode_words(value: str, decoder: Decoder) -> str:
    """Decode RFC 2047 encoded words. Whitespace between adjacent words is dropped, and adjacent
    words in one charset are decoded together (mailers split multi-byte characters across
    them). Words glued to other text are decoded too, as most mail clients do."""
    if "=?" not in value:
        return value
    pieces: list[str] = []
    run: list[tuple[str, bytearray]] = []
    position = 0

    def flush() -> None:
        for charset, data in run:
            pieces.append(decoder.decode(bytes(data), charset or None))
        run.clear()

    for match in _ENCODED_WORD.finditer(value):
        gap = value[position : match.start()]
        if not (run and not gap.strip()):
            flush()
            pieces.append(gap)
        charset = clean_label(match.group(1))
        data = _word_bytes(match.group(2), match.group(3))
        if run and run[-1][0] == charset:
            run[-1][1].extend(data)
        else:
            run.append((charset, bytearray(data)))
        position = match.end()
    flush()
    pieces.append(value[position:])
    return "".join(pieces)
