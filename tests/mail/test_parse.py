"""parse_mail: raw inbound bytes → ParsedMail. Every sample is crafted here (or under samples/);
no real personal data."""

from __future__ import annotations

import base64
import dataclasses
import quopri
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk.mail import parse as parse_module
from helpdesk.mail.charsets import Decoder, decode_words, normalize_charset
from helpdesk.mail.html import html_to_text, limit_nesting, sanitize_html
from helpdesk.mail.parse import Address, ParsedMail, ParseLimits, parse_mail

SAMPLES = Path(__file__).parent / "samples"
RUSSIAN = "Здравствуйте! У меня не работает принтер в бухгалтерии, помогите пожалуйста."


def message(*headers: str, body: bytes | str = b"", eol: bytes = b"\r\n") -> bytes:
    """A raw mail from header lines and a body (str bodies are utf-8)."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    head = eol.join(line.encode("utf-8") for line in headers)
    return head + eol + eol + data


def single(ctype: str, body: bytes, *extra: str) -> bytes:
    return message(
        "From: Client <client@example.com>",
        "To: support@help.example",
        "Subject: test",
        "MIME-Version: 1.0",
        f"Content-Type: {ctype}",
        *extra,
        body=body,
    )


def multipart(ctype: str, boundary: str, *parts: bytes, headers: tuple[str, ...] = ()) -> bytes:
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + part + b"\r\n" for part in parts)
    body += b"--" + boundary.encode() + b"--\r\n"
    return message(
        "From: Client <client@example.com>",
        "To: support@help.example",
        "Subject: multipart test",
        "MIME-Version: 1.0",
        f'Content-Type: {ctype}; boundary="{boundary}"',
        *headers,
        body=body,
    )


def part(*headers: str, body: bytes | str = b"") -> bytes:
    data = body.encode("utf-8") if isinstance(body, str) else body
    return b"\r\n".join(line.encode("utf-8") for line in headers) + b"\r\n\r\n" + data


def assert_clean(parsed: ParsedMail) -> None:
    """Invariants for any input: strings encode as utf-8, nothing but tab/newline controls."""
    strings = [parsed.subject, parsed.text, parsed.html or "", parsed.sender.address,
               parsed.sender.name, *parsed.charset_problems, *parsed.defects,
               *parsed.references, *parsed.in_reply_to, parsed.message_id or ""]
    for address in [*parsed.to, *parsed.cc, *parsed.reply_to]:
        strings += [address.address, address.name]
    for attachment in parsed.attachments:
        strings.append(attachment.filename)
        assert attachment.filename and "/" not in attachment.filename
        assert "\\" not in attachment.filename
        assert attachment.size == len(attachment.content)
        assert attachment.content_type == attachment.content_type.lower()
    strings += [parsed.automatic_reason or ""]
    if parsed.bounce is not None:
        strings += [parsed.bounce.original_message_id or "", parsed.bounce.status,
                    parsed.bounce.action, parsed.bounce.diagnostic, *parsed.bounce.recipients]
    for value in strings:
        value.encode("utf-8")  # no lone surrogates
        assert not any(ord(c) < 32 and c not in "\t\n" for c in value), repr(value)
    if parsed.date is not None:
        assert parsed.date.tzinfo is not None and parsed.date.utcoffset().total_seconds() == 0


# --------------------------------------------------------------------------------------------
# Charsets


CHARSET_CASES = [
    ("utf-8", "utf-8", "Привет, 世界! Grüße €"),
    ("windows-1251", "cp1251", RUSSIAN),
    ("KOI8-R", "koi8-r", RUSSIAN),
    ("KOI8-U", "koi8-u", "Добрий день! Ґанок, їжак, єнот, і все."),
    ("ISO-8859-1", "latin-1", "Grüße aus München, schöne Straße"),
    ("ISO-8859-2", "iso8859-2", "Dzień dobry, żółć. Příliš žluťoučký kůň"),
    ("ISO-8859-5", "iso8859-5", RUSSIAN),
    ("ISO-8859-15", "iso8859-15", "Prix: 15 € œuvre"),
    ("ISO-2022-JP", "iso2022_jp", "こんにちは、プリンターが動きません。"),
    ("Shift_JIS", "cp932", "プリンター①が故障しました 髙橋"),  # cp932-only characters
    ("gb2312", "gb18030", "您好，打印机坏了。喆堃玥"),  # GBK-only characters
    ("GBK", "gbk", "您好，打印机坏了。"),
    ("Big5", "big5", "您好，印表機壞了。"),
    ("utf-7", "utf-7", "Привет, мир"),
    ("cp-1251", "cp1251", RUSSIAN),
    ("win-1251", "cp1251", RUSSIAN),
    ("x-cp1251", "cp1251", RUSSIAN),
    ("koi8r", "koi8-r", RUSSIAN),
    ('"unicode-1-1-utf-7"', "utf-7", "Привет"),
    ("ks_c_5601-1987", "cp949", "안녕하세요 프린터가 고장났어요 똠"),
]


@pytest.mark.parametrize(("label", "codec", "text"), CHARSET_CASES)
@pytest.mark.parametrize("transfer", ["8bit", "base64", "quoted-printable"])
def test_body_charsets_and_aliases(label: str, codec: str, text: str, transfer: str) -> None:
    data = text.encode(codec)
    if transfer == "base64":
        data = base64.encodebytes(data)
    elif transfer == "quoted-printable":
        data = quopri.encodestring(data)
    parsed = parse_mail(single(f"text/plain; charset={label}", data,
                               f"Content-Transfer-Encoding: {transfer}"))
    assert parsed.text == text
    assert parsed.charset_problems == []
    assert parsed.defects == []
    assert_clean(parsed)


def test_no_charset_declared_utf8_is_tried_first() -> None:
    parsed = parse_mail(
        single("text/plain", "Добрый день".encode(), "Content-Transfer-Encoding: 8bit")
    )
    assert parsed.text == "Добрый день"
    assert parsed.charset_problems == []


def test_no_content_type_at_all_guesses_the_charset() -> None:
    raw = message("From: a@example.com", "Subject: x", body=RUSSIAN.encode("cp1251"))
    parsed = parse_mail(raw)
    assert parsed.text == RUSSIAN
    assert parsed.charset_problems == ["no charset declared; decoded as windows-1251 (best effort)"]


def test_unknown_charset_is_decoded_best_effort_and_noted() -> None:
    parsed = parse_mail(single("text/plain; charset=x-foo", (RUSSIAN * 2).encode("cp1251")))
    assert parsed.text == RUSSIAN * 2
    assert parsed.charset_problems == [
        "unknown charset 'x-foo' decoded as windows-1251 (best effort)"
    ]


def test_unknown_charset_with_utf8_content() -> None:
    parsed = parse_mail(single("text/plain; charset=x-weird", "Grüße".encode()))
    assert parsed.text == "Grüße"
    assert parsed.charset_problems == ["unknown charset 'x-weird' decoded as utf-8"]


def test_mislabelled_utf8_that_is_really_windows_1251() -> None:
    parsed = parse_mail(single("text/plain; charset=utf-8", RUSSIAN.encode("cp1251")))
    assert parsed.text == RUSSIAN
    assert "'utf-8' does not match the content" in parsed.charset_problems[0]


def test_us_ascii_label_on_utf8_content() -> None:
    parsed = parse_mail(single("text/plain; charset=us-ascii", "café".encode()))
    assert parsed.text == "café"
    assert len(parsed.charset_problems) == 1


def test_iso_8859_1_label_reads_windows_1252_quotes() -> None:
    parsed = parse_mail(single("text/plain; charset=iso-8859-1", "“quoted” – ok".encode("cp1252")))
    assert parsed.text == "“quoted” – ok"


def test_charset_labels_that_are_not_charsets_are_unknown() -> None:
    assert normalize_charset("base64") is None
    assert normalize_charset("rot13") is None
    assert normalize_charset("unicode_escape") is None
    assert normalize_charset("windows-1251") == "cp1251"
    assert normalize_charset("ISO_8859-5:1988") == "iso8859-5"
    parsed = parse_mail(single("text/plain; charset=base64", b"aGVsbG8="))
    assert parsed.text == "aGVsbG8="


def test_utf7_lone_surrogates_never_escape() -> None:
    raw = (b"Subject: =?utf-7?Q?a+2D0-b?=\r\n"
           b"Content-Type: multipart/mixed; boundary*=utf-7''%2B2D0-\r\n\r\nhi +2D0-\r\n")
    parsed = parse_mail(raw)
    assert parsed.subject == "a\ufffdb"
    assert parsed.text == "hi +2D0-"
    assert not any("parser failure" in defect for defect in parsed.defects)
    assert_clean(parsed)
    assert parse_mail(single("text/plain; charset=utf-7", b"x +2D0- y")).text == "x \ufffd y"


def test_html_charset_from_meta_when_the_header_has_none() -> None:
    html = '<html><head><meta charset="windows-1251"></head><body><p>Привет</p></body></html>'
    parsed = parse_mail(single("text/html", html.encode("cp1251")))
    assert parsed.text == "Привет"
    assert parsed.text_from_html


# --------------------------------------------------------------------------------------------
# Transfer encodings


def test_quoted_printable_soft_breaks() -> None:
    body = b"A long line that was =\r\nwrapped, caf=C3=A9 =E2=82=AC\r\n"
    parsed = parse_mail(single("text/plain; charset=utf-8", body,
                               "Content-Transfer-Encoding: quoted-printable"))
    assert parsed.text == "A long line that was wrapped, café €"


def test_broken_base64_decodes_what_it_can() -> None:
    good = base64.b64encode("Всё сломалось, но начало видно. ".encode() * 3)
    broken = good[:40] + b"!!**" + good[40:-3]  # junk in the middle, padding cut off
    parsed = parse_mail(single("text/plain; charset=utf-8", broken,
                               "Content-Transfer-Encoding: base64"))
    assert parsed.text.startswith("Всё сломалось, но начало видно.")
    assert any("broken base64" in defect for defect in parsed.defects)
    assert_clean(parsed)


def test_base64_glued_from_separately_padded_chunks() -> None:
    chunks = b"\r\n".join(base64.b64encode(word.encode()) for word in ("Hello ", "dear ", "you"))
    parsed = parse_mail(single("text/plain; charset=utf-8", chunks,
                               "Content-Transfer-Encoding: base64"))
    assert parsed.text == "Hello dear you"


def test_eight_bit_body_with_lf_line_endings() -> None:
    raw = message("From: a@example.com", "Content-Type: text/plain; charset=koi8-r",
                  "Content-Transfer-Encoding: 8bit", body="строка 1\nстрока 2".encode("koi8-r"),
                  eol=b"\n")
    assert parse_mail(raw).text == "строка 1\nстрока 2"


def test_unknown_transfer_encoding_keeps_the_bytes() -> None:
    parsed = parse_mail(
        single("text/plain; charset=utf-8", b"plain", "Content-Transfer-Encoding: x-zip")
    )
    assert parsed.text == "plain"
    assert any("x-zip" in defect for defect in parsed.defects)


# --------------------------------------------------------------------------------------------
# Headers: RFC 2047, 8-bit headers, addresses, ids, dates


def headers_only(*lines: str | bytes) -> ParsedMail:
    raw = b"\r\n".join(line if isinstance(line, bytes) else line.encode() for line in lines)
    return parse_mail(raw + b"\r\n\r\nbody\r\n")


def test_subject_q_and_b_words_folded_and_adjacent() -> None:
    parsed = headers_only(
        "Subject: =?UTF-8?B?0J/RgNC40LLQtdGC?=",
        " =?UTF-8?Q?=2C_=D0=BC=D0=B8=D1=80?=   =?utf-8?q?!?=",
        "\tand more",
    )
    assert parsed.subject == "Привет, мир! and more"


def test_subject_word_split_inside_a_multibyte_character() -> None:
    data = "Заявка".encode()
    first, second = base64.b64encode(data[:3]).decode(), base64.b64encode(data[3:]).decode()
    parsed = headers_only(f"Subject: =?utf-8?B?{first}?= =?utf-8?B?{second}?=")
    assert parsed.subject == "Заявка"


def test_subject_mixed_charsets_in_one_header() -> None:
    koi = base64.b64encode("Счёт".encode("koi8-r")).decode()
    latin = "=?ISO-8859-1?Q?M=FCller?="
    gbk = base64.b64encode("喆".encode("gbk")).decode()
    parsed = headers_only(f"Subject: Re: =?koi8-r?B?{koi}?= {latin} =?gb2312?B?{gbk}?= done")
    assert parsed.subject == "Re: СчётMüller喆 done"


def test_subject_encoded_word_with_unknown_charset() -> None:
    word = base64.b64encode(RUSSIAN.encode("cp1251")).decode()
    parsed = headers_only(f"Subject: =?x-unknown?B?{word}?=")
    assert parsed.subject == RUSSIAN
    assert parsed.charset_problems


def test_raw_utf8_header_is_decoded_and_noted() -> None:
    parsed = headers_only("From: a@example.com", "Subject: Проблема с VPN".encode())
    assert parsed.subject == "Проблема с VPN"
    assert parsed.defects == ["8-bit header 'subject' decoded as utf-8"]


def test_raw_cp1251_header_is_decoded_and_noted() -> None:
    parsed = headers_only(
        "Subject: Проблема с VPN".encode("cp1251"),
        'From: "Иван" <ivan@example.com>'.encode("cp1251"),
    )
    assert parsed.subject == "Проблема с VPN"
    assert parsed.sender == Address("ivan@example.com", "Иван")
    assert "8-bit header 'subject' decoded as windows-1251" in parsed.defects


def test_addresses_with_encoded_names_groups_and_commas() -> None:
    name = base64.b64encode("Пётр Сидоров".encode()).decode()
    parsed = headers_only(
        f"From: =?utf-8?B?{name}?= <Petr.Sidorov@Example.COM>",
        'To: "Doe, John" <john@example.com>, team: a@example.com, B@Example.com;,',
        " =?iso-8859-1?q?J=F6rg?= <jorg@example.de>",
        "Cc: undisclosed-recipients:;",
        "Reply-To: <help@example.com> (=?utf-8?q?Help_desk?=)",
    )
    assert parsed.sender == Address("petr.sidorov@example.com", "Пётр Сидоров")
    assert parsed.to == [
        Address("john@example.com", "Doe, John"),
        Address("a@example.com", ""),
        Address("b@example.com", ""),
        Address("jorg@example.de", "Jörg"),
    ]
    assert parsed.cc == []
    assert [a.address for a in parsed.reply_to] == ["help@example.com"]


def test_encoded_name_with_quotes_and_specials_inside() -> None:
    parsed = headers_only('From: =?utf-8?Q?Acme_=22Support=22_=3Cnoreply=3E?= <help@acme.example>')
    assert parsed.sender == Address("help@acme.example", 'Acme "Support" <noreply>')


def test_encoded_word_inside_quotes_as_outlook_sends_it() -> None:
    parsed = headers_only('From: "=?utf-8?B?0JDQvdC90LA=?=" <anna@example.com>')
    assert parsed.sender == Address("anna@example.com", "Анна")


def test_unparseable_and_missing_addresses() -> None:
    assert headers_only("Subject: no from").sender == Address("", "")
    parsed = headers_only("From: just some words")
    assert parsed.sender.address == ""
    assert headers_only("From: <>").sender == Address("", "")
    assert headers_only("From: Mail Delivery <MAILER-DAEMON>").sender.address == "mailer-daemon"
    # CVE-2023-27043 shape: never read as bob
    assert "bob" not in headers_only("From: alice@example.org)<bob@example.com>").sender.address


def test_message_ids_references_and_in_reply_to() -> None:
    parsed = headers_only(
        "Message-ID: < abc.123@mail.example >",
        "In-Reply-To: <parent@mail.example> (message from Someone)",
        "References: <root@x.example> <parent@mail.example>",
        "  <root@x.example> <other@y.example>",
    )
    assert parsed.message_id == "abc.123@mail.example"
    assert parsed.in_reply_to == ["parent@mail.example"]
    assert parsed.references == ["root@x.example", "parent@mail.example", "other@y.example"]
    assert headers_only("Message-ID: garbage here").message_id is None
    assert headers_only("Message-ID: bare@id.example").message_id == "bare@id.example"
    assert headers_only("Subject: none").message_id is None


def test_date_is_aware_utc() -> None:
    parsed = headers_only("Date: Tue, 05 Mar 2024 14:30:00 +0300 (MSK)")
    assert parsed.date == datetime(2024, 3, 5, 11, 30, tzinfo=UTC)
    assert headers_only("Date: Tue, 05 Mar 2024 14:30:00 -0000").date == datetime(
        2024, 3, 5, 14, 30, tzinfo=UTC)
    bad = headers_only("Date: the day before yesterday")
    assert bad.date is None
    assert "unparseable Date header" in bad.defects


# --------------------------------------------------------------------------------------------
# Attachments and file names


def attachment_mail(*headers: str, content: bytes = b"%PDF-1.4 data") -> ParsedMail:
    raw = multipart(
        "multipart/mixed", "mix",
        part("Content-Type: text/plain; charset=utf-8", body="See attached."),
        part(*headers, "Content-Transfer-Encoding: base64",
             body=base64.encodebytes(content)),
    )
    parsed = parse_mail(raw)
    assert parsed.text == "See attached."
    assert_clean(parsed)
    return parsed


def test_rfc2231_filename() -> None:
    parsed = attachment_mail(
        "Content-Type: application/pdf",
        "Content-Disposition: attachment;",
        " filename*=UTF-8''%D0%A1%D1%87%D1%91%D1%82%20%E2%84%961.pdf",
    )
    [attachment] = parsed.attachments
    assert attachment.filename == "Счёт №1.pdf"
    assert attachment.content_type == "application/pdf"
    assert attachment.content == b"%PDF-1.4 data"
    assert attachment.size == len(b"%PDF-1.4 data")
    assert not attachment.inline and attachment.content_id is None


def test_rfc2231_continuations_mixed_and_charset_windows_1251() -> None:
    parsed = attachment_mail(
        "Content-Type: application/pdf",
        "Content-Disposition: attachment;",
        " filename*0*=windows-1251''%D1%EF%E8%F1%EE%EA;",
        ' filename*1=" long name";',
        " filename*2*=%2E%70%64%66",
    )
    assert parsed.attachments[0].filename == "Список long name.pdf"


def test_rfc2047_encoded_filename_outlook_style() -> None:
    parsed = attachment_mail(
        'Content-Type: application/vnd.ms-excel; name="=?utf-8?B?0J7RgtGH0ZHRgi54bHM=?="',
        'Content-Disposition: attachment; filename="=?utf-8?B?0J7RgtGH0ZHRgi54bHM=?="',
    )
    assert parsed.attachments[0].filename == "Отчёт.xls"


def test_name_on_content_type_only() -> None:
    parsed = attachment_mail('Content-Type: image/png; name="screen shot.png"')
    assert parsed.attachments[0].filename == "screen shot.png"


def test_missing_filename_gets_a_numbered_name_with_extension() -> None:
    parsed = attachment_mail("Content-Type: application/pdf")
    assert parsed.attachments[0].filename == "attachment-1.pdf"


def test_paths_and_dangerous_characters_are_stripped_from_names() -> None:
    parsed = attachment_mail(
        "Content-Type: application/octet-stream",
        'Content-Disposition: attachment; filename="C:\\Users\\me\\..\\evil\u202egpj.exe"',
    )
    assert parsed.attachments[0].filename == "evilgpj.exe"
    parsed = attachment_mail("Content-Type: application/octet-stream",
                             'Content-Disposition: attachment; filename="../../"')
    assert parsed.attachments[0].filename == "attachment-1.bin"


# --------------------------------------------------------------------------------------------
# Structure: alternative, HTML only, related, forwarded, signed, encrypted


HTML = (
    "<html><head><style>p {color: red}</style><title>T</title></head><body>"
    "<h1>Printer</h1><p>It&nbsp;is <b>broken</b> &amp; &lt;smoking&gt;.</p>"
    "<script>alert('x')</script><ul><li>first</li><li>second</li></ul>"
    "Line one<br>Line two<div>A <a href='https://example.com/ticket'>link</a></div>"
    "<img src='cid:logo@example' onerror='x()'><img src='http://tracker.example/p.gif'>"
    "<a href='javascript:alert(1)'>bad</a></body></html>"
)


def test_alternative_keeps_text_and_sanitised_html() -> None:
    raw = multipart(
        "multipart/alternative", "alt",
        part("Content-Type: text/plain; charset=utf-8", body="Plain version"),
        part("Content-Type: text/html; charset=utf-8", body=HTML),
    )
    parsed = parse_mail(raw)
    assert parsed.text == "Plain version"
    assert not parsed.text_from_html
    assert parsed.html is not None
    assert "<b>broken</b>" in parsed.html
    assert 'href="https://example.com/ticket"' in parsed.html
    assert 'src="cid:logo@example"' in parsed.html
    for gone in ("script", "alert", "onerror", "tracker", "javascript", "<style", "color: red"):
        assert gone not in parsed.html
    assert parsed.attachments == []


def test_html_only_mail_gets_readable_text() -> None:
    parsed = parse_mail(single("text/html; charset=utf-8", HTML.encode()))
    assert parsed.text_from_html
    assert parsed.text == (
        "Printer\n\nIt is broken & <smoking>.\n\n- first\n- second\nLine one\nLine two\n"
        "A link (https://example.com/ticket)\nbad"
    )


def test_html_to_text_numbers_ordered_lists_and_keeps_pre() -> None:
    html = sanitize_html("<ol start=3><li>a</li><li>b</li></ol><pre>  x = 1\n    y</pre>end")
    assert html_to_text(html) == "3. a\n4. b\n  x = 1\n    y\nend"


def test_empty_plain_alternative_falls_back_to_html_text() -> None:
    raw = multipart(
        "multipart/alternative", "alt",
        part("Content-Type: text/plain; charset=utf-8", body="\r\n"),
        part("Content-Type: text/html; charset=utf-8", body="<p>Only here</p>"),
    )
    parsed = parse_mail(raw)
    assert parsed.text == "Only here"
    assert parsed.text_from_html


def test_related_with_cid_images_are_inline_attachments() -> None:
    png = b"\x89PNG\r\n\x1a\nfake"
    raw = multipart(
        "multipart/mixed", "outer",
        b'Content-Type: multipart/related; boundary="rel"\r\n\r\n'
        + b"--rel\r\n"
        + part("Content-Type: multipart/alternative; boundary=alt", body=(
            b"--alt\r\n" + part("Content-Type: text/plain", body="See logo") + b"\r\n"
            b"--alt\r\n" + part("Content-Type: text/html",
                                body='<p>See <img src="cid:logo%40example"></p>') + b"\r\n"
            b"--alt--")) + b"\r\n"
        + b"--rel\r\n"
        + part("Content-Type: image/png", "Content-ID: <logo@example>",
               "Content-Transfer-Encoding: base64", body=base64.encodebytes(png)) + b"\r\n"
        + b"--rel\r\n"
        + part("Content-Type: image/gif", "Content-ID: <unused@example>",
               "Content-Disposition: inline", body=b"GIF89a") + b"\r\n"
        + b"--rel--",
        part("Content-Type: application/pdf", "Content-ID: <doc@example>",
             "Content-Disposition: attachment; filename=doc.pdf", body=b"%PDF"),
    )
    parsed = parse_mail(raw)
    assert parsed.text == "See logo"
    assert parsed.html == '<p>See <img src="cid:logo%40example"></p>'
    logo, gif, pdf = parsed.attachments
    assert (logo.filename, logo.content_id, logo.inline, logo.content) == (
        "attachment-1.png", "logo@example", True, png)
    assert (gif.content_id, gif.inline) == ("unused@example", True)
    assert (pdf.filename, pdf.inline) == ("doc.pdf", False)
    assert parsed.defects == []


def test_forwarded_message_is_an_eml_attachment_and_not_merged() -> None:
    inner = message(
        "From: Other <other@example.org>", "Subject: =?utf-8?Q?=D0=A1=D1=87=D1=91=D1=82_1/2?=",
        "Content-Type: text/plain; charset=utf-8", body="Inner secret text",
    )
    raw = multipart(
        "multipart/mixed", "fwd",
        part("Content-Type: text/plain; charset=utf-8", body="Please look at this."),
        part("Content-Type: message/rfc822", "Content-Disposition: attachment", body=inner),
    )
    parsed = parse_mail(raw)
    assert parsed.text == "Please look at this."
    assert "Inner secret" not in parsed.text
    [forwarded] = parsed.attachments
    assert forwarded.filename == "Счёт 1_2.eml"
    assert forwarded.content_type == "message/rfc822"
    assert forwarded.content == inner


def test_forwarded_message_without_subject() -> None:
    raw = multipart("multipart/mixed", "fwd",
                    part("Content-Type: text/plain", body="fyi"),
                    part("Content-Type: message/rfc822", body=message("From: x@example.org",
                                                                     body="x")))
    assert parse_mail(raw).attachments[0].filename == "attachment-1.eml"


def test_smime_signed_body_and_signature_attachment() -> None:
    raw = multipart(
        'multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256', "sig",
        part("Content-Type: text/plain; charset=utf-8", body="Signed request"),
        part("Content-Type: application/pkcs7-signature", "Content-Transfer-Encoding: base64",
             body=base64.encodebytes(b"\x30\x82fake-der")),
    )
    parsed = parse_mail(raw)
    assert parsed.text == "Signed request"
    [signature] = parsed.attachments
    assert (signature.filename, signature.content_type) == (
        "smime.p7s", "application/pkcs7-signature")
    assert signature.content == b"\x30\x82fake-der"


def test_pgp_signed_body_and_signature_attachment() -> None:
    raw = multipart(
        'multipart/signed; protocol="application/pgp-signature"; micalg=pgp-sha256', "pgp",
        part("Content-Type: multipart/mixed; boundary=inner", body=(
            b"--inner\r\n" + part("Content-Type: text/plain", body="PGP signed") + b"\r\n"
            b"--inner--")),
        part('Content-Type: application/pgp-signature; name="signature.asc"',
             body="-----BEGIN PGP SIGNATURE-----\r\nabc\r\n-----END PGP SIGNATURE-----"),
    )
    parsed = parse_mail(raw)
    assert parsed.text == "PGP signed"
    assert [a.filename for a in parsed.attachments] == ["signature.asc"]


def test_smime_encrypted_is_kept_as_attachment_with_a_defect() -> None:
    raw = single('application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"',
                 base64.encodebytes(b"\x30\x80encrypted"), "Content-Transfer-Encoding: base64")
    parsed = parse_mail(raw)
    assert parsed.text == ""
    assert parsed.html is None
    [encrypted] = parsed.attachments
    assert (encrypted.filename, encrypted.content) == ("smime.p7m", b"\x30\x80encrypted")
    assert any("S/MIME" in defect for defect in parsed.defects)
    unnamed = parse_mail(single("application/x-pkcs7-mime", b"\x30\x80"))
    assert unnamed.attachments[0].filename == "smime.p7m"


def test_pgp_encrypted_parts_are_attachments() -> None:
    raw = multipart(
        'multipart/encrypted; protocol="application/pgp-encrypted"', "enc",
        part("Content-Type: application/pgp-encrypted", body="Version: 1"),
        part('Content-Type: application/octet-stream; name="encrypted.asc"',
             body="-----BEGIN PGP MESSAGE-----"),
    )
    parsed = parse_mail(raw)
    assert parsed.text == ""
    assert [a.filename for a in parsed.attachments] == ["attachment-1.asc", "encrypted.asc"]
    assert "multipart/encrypted content was not decrypted" in parsed.defects


def test_inline_text_parts_around_an_image_are_joined() -> None:
    raw = multipart(
        "multipart/mixed", "apple",
        part("Content-Type: text/plain", body="Before"),
        part("Content-Type: image/jpeg", "Content-Disposition: inline; filename=photo.jpg",
             body=b"\xff\xd8"),
        part("Content-Type: text/plain", body="After"),
        part("Content-Type: text/plain", 'Content-Disposition: attachment; filename="log.txt"',
             body="log line"),
        part("Content-Type: text/calendar; method=REQUEST", body="BEGIN:VCALENDAR"),
    )
    parsed = parse_mail(raw)
    assert parsed.text == "Before\nAfter"
    assert [a.filename for a in parsed.attachments] == ["photo.jpg", "log.txt", "attachment-3.ics"]


# --------------------------------------------------------------------------------------------
# Automatic mail and bounces


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("Auto-Submitted: auto-replied", "Auto-Submitted: auto-replied"),
        ("Auto-Submitted: auto-generated; owner-email=x@example.com",
         "Auto-Submitted: auto-generated; owner-email=x@example.com"),
        ("Precedence: bulk", "Precedence: bulk"),
        ("Precedence: JUNK", "Precedence: junk"),
        ("Precedence: bulk (newsletter)", "Precedence: bulk"),
        ("Precedence: list", "Precedence: list"),
        ("Precedence: auto_reply", "Precedence: auto_reply"),
        ("X-Autoreply: yes", "X-Autoreply"),
        ("X-Autorespond: whatever", "X-Autorespond"),
        ("X-Auto-Response-Suppress: All", "X-Auto-Response-Suppress"),
        ("X-Auto-Response-Suppress: ", "X-Auto-Response-Suppress"),
    ],
)
def test_automatic_mail_headers(header: str, reason: str) -> None:
    parsed = headers_only("From: someone@example.com", header)
    assert parsed.auto_submitted
    assert parsed.automatic_reason == reason


@pytest.mark.parametrize(
    "sender", ["MAILER-DAEMON@mx.example.com", "Postmaster@example.com", "mailer-daemon"]
)
def test_automatic_mail_senders(sender: str) -> None:
    parsed = headers_only(f"From: Mail System <{sender}>")
    assert parsed.auto_submitted
    assert parsed.automatic_reason == f"sender {sender.lower().split('@')[0]}"


@pytest.mark.parametrize(
    "header",
    ["Auto-Submitted: no", "Auto-Submitted: No (sent by a person)", "Precedence: first-class",
     "Precedence: bulky", "From: daemon@example.com"],
)
def test_human_mail_is_not_automatic(header: str) -> None:
    parsed = headers_only("From: person@example.com", header)
    assert not parsed.auto_submitted
    assert parsed.automatic_reason is None


def test_dsn_sample_fills_bounce() -> None:
    parsed = parse_mail((SAMPLES / "dsn_failed.eml").read_bytes())
    assert parsed.bounce is not None
    assert parsed.bounce.original_message_id == "ticket-42.7@help.example"
    assert parsed.bounce.recipients == ["nobody@customer.example"]
    assert parsed.bounce.status == "5.1.1"
    assert parsed.bounce.action == "failed"
    assert parsed.bounce.diagnostic == "550 5.1.1 <nobody@customer.example>: User unknown"
    assert parsed.auto_submitted
    assert parsed.automatic_reason == "Auto-Submitted: auto-replied"
    assert "could not be delivered" in parsed.text
    assert [a.content_type for a in parsed.attachments] == [
        "message/delivery-status", "message/rfc822"]
    assert parsed.attachments[1].filename == "Re_ Printer broken [#42].eml"  # no ":" on Windows
    assert_clean(parsed)


def test_dsn_with_headers_only_and_delayed_recipient() -> None:
    status = (
        "Reporting-MTA: dns; mx.example.net\r\nOriginal-Envelope-Id: env-1\r\n\r\n"
        "Final-Recipient: rfc822; slow@example.org\r\nAction: delayed\r\nStatus: 4.4.7\r\n"
        "Diagnostic-Code: smtp; 451 try later\r\n"
    )
    raw = multipart(
        "multipart/report; report-type=delivery-status", "dsn",
        part("Content-Type: text/plain", body="Delayed."),
        part("Content-Type: message/delivery-status", body=status),
        part("Content-Type: text/rfc822-headers",
             body="Message-ID: <orig@help.example>\r\nSubject: hi\r\n"),
        headers=(),
    )
    raw = raw.replace(b"From: Client <client@example.com>", b"From: Mail <mta@example.net>")
    parsed = parse_mail(raw)
    assert parsed.bounce is not None
    assert parsed.bounce.action == "delayed"
    assert parsed.bounce.status == "4.4.7"
    assert parsed.bounce.recipients == ["slow@example.org"]
    assert parsed.bounce.original_message_id == "orig@help.example"
    assert parsed.bounce.diagnostic == "451 try later"
    assert parsed.automatic_reason == "delivery status notification"


def test_dsn_falls_back_to_envelope_id_and_status_class() -> None:
    status = (
        "Reporting-MTA: dns; mx.example.net\r\nOriginal-Envelope-Id: <env-2@help.example>\r\n"
        "\r\nOriginal-Recipient: rfc822;First@Example.org\r\n"
        "Final-Recipient: rfc822;forwarded@example.org\r\nStatus: 5.2.2 (mailbox full)\r\n"
        "\r\nFinal-Recipient: rfc822; ok@example.org\r\nAction: delivered\r\nStatus: 2.0.0\r\n"
    )
    raw = multipart(
        "multipart/report; report-type=delivery-status", "dsn",
        part("Content-Type: text/plain", body="Report."),
        part("Content-Type: message/delivery-status", body=status),
    )
    bounce = parse_mail(raw).bounce
    assert bounce is not None
    assert bounce.original_message_id == "env-2@help.example"
    assert (bounce.action, bounce.status, bounce.recipients) == (
        "failed", "5.2.2", ["first@example.org"])


def test_read_receipt_is_automatic_but_not_a_bounce() -> None:
    raw = multipart(
        "multipart/report; report-type=disposition-notification", "mdn",
        part("Content-Type: text/plain", body="Your message was displayed."),
        part("Content-Type: message/disposition-notification",
             body="Disposition: manual-action/MDN-sent-manually; displayed"),
    )
    parsed = parse_mail(raw)
    assert parsed.bounce is None
    assert parsed.automatic_reason == "multipart/report (disposition-notification)"


# --------------------------------------------------------------------------------------------
# Malformed input


def test_missing_closing_boundary() -> None:
    raw = multipart(
        "multipart/mixed", "b",
        part("Content-Type: text/plain", body="first"),
        part("Content-Type: application/pdf", "Content-Disposition: attachment; filename=a.pdf",
             body=b"%PDF-truncat"),
    ).replace(b"--b--\r\n", b"")
    parsed = parse_mail(raw)
    assert parsed.text == "first"
    assert parsed.attachments[0].content == b"%PDF-truncat\r\n"
    assert "multipart/mixed: closing boundary missing" in parsed.defects


def test_nested_multipart_without_its_closing_boundary_ends_at_the_outer_one() -> None:
    inner = b"--in\r\n" + part("Content-Type: text/plain", body="inner text")
    raw = multipart(
        "multipart/mixed", "out",
        part("Content-Type: multipart/alternative; boundary=in", body=inner),
        part("Content-Type: image/png", "Content-Disposition: attachment; filename=x.png",
             body=b"PNG"),
    )
    parsed = parse_mail(raw)
    assert parsed.text == "inner text"
    assert [a.filename for a in parsed.attachments] == ["x.png"]


def test_boundary_declared_but_absent_reads_the_body_as_text() -> None:
    raw = single('multipart/mixed; boundary="nowhere"', "Просто текст".encode())
    parsed = parse_mail(raw)
    assert parsed.text == "Просто текст"
    assert "multipart/mixed: boundary not found; content read as text" in parsed.defects


def test_boundary_parameter_missing_is_guessed() -> None:
    body = (b"preamble\r\n--guess-me\r\nContent-Type: text/plain\r\n\r\nguessed body\r\n"
            b"--guess-me--\r\n")
    parsed = parse_mail(single("multipart/alternative", body))
    assert parsed.text == "guessed body"
    assert "multipart/alternative: boundary missing or wrong; guessed from the content" in (
        parsed.defects)


def test_garbage_header_lines_are_skipped() -> None:
    raw = (b"From: a@example.com\r\nthis is not a header\r\n\x00\x01junk\r\nSubject: kept\r\n"
           b": no name\r\n\r\nbody text\r\n")
    parsed = parse_mail(raw)
    assert parsed.subject == "kept"
    assert parsed.text == "body text"
    assert "garbage header line skipped" in parsed.defects


def test_missing_blank_line_after_headers() -> None:
    parsed = parse_mail(b"From: a@example.com\r\nSubject: s\r\nHello there,\r\nsecond line\r\n")
    assert parsed.subject == "s"
    assert parsed.text == "Hello there,\nsecond line"
    assert "no blank line between headers and body" in parsed.defects


def test_no_headers_at_all() -> None:
    parsed = parse_mail("Просто текст без заголовков\nвторая строка".encode())
    assert parsed.text == "Просто текст без заголовков\nвторая строка"
    assert parsed.defects == ["message has no headers"]


def test_mbox_from_line_is_ignored() -> None:
    parsed = parse_mail(b"From sender@example.com Mon Jan  1 00:00:00 2024\nSubject: hi\n\nbody")
    assert (parsed.subject, parsed.text, parsed.defects) == ("hi", "body", [])


def test_binary_junk() -> None:
    junk = bytes(range(256)) * 40
    parsed = parse_mail(junk)
    assert parsed.text  # decoded best effort
    assert parsed.defects
    assert_clean(parsed)


def test_invalid_content_type_defaults_to_text() -> None:
    parsed = parse_mail(single("garbage", b"hello"))
    assert parsed.text == "hello"
    assert any("invalid Content-Type" in defect for defect in parsed.defects)


def test_non_bytes_input_does_not_raise() -> None:
    parsed = parse_mail("not bytes")  # type: ignore[arg-type]
    assert isinstance(parsed, ParsedMail)


# --------------------------------------------------------------------------------------------
# Limits


def nested(levels: int, kind: str) -> bytes:
    """`levels` multiparts (or message/rfc822) inside each other, text at the bottom."""
    inner = part("Content-Type: text/plain", body="deepest")
    for level in range(levels):
        if kind == "multipart":
            boundary = f"b{level}".encode()
            inner = (b"Content-Type: multipart/mixed; boundary=" + boundary + b"\r\n\r\n--"
                     + boundary + b"\r\n" + inner + b"\r\n--" + boundary + b"--")
        else:
            inner = b"Subject: level " + str(level).encode() + (
                b"\r\nContent-Type: message/rfc822\r\n\r\n") + inner
    return b"From: deep@example.com\r\n" + inner


def test_deeply_nested_multiparts_are_cut_at_max_depth() -> None:
    parsed = parse_mail(nested(1000, "multipart"))
    assert parsed.truncated
    assert "multipart nested deeper than 20 levels; skipped" in parsed.defects
    assert parsed.text == ""
    shallow = parse_mail(nested(15, "multipart"))
    assert (shallow.text, shallow.truncated) == ("deepest", False)


def test_deeply_nested_forwards_are_one_attachment() -> None:
    parsed = parse_mail(nested(1000, "rfc822"))
    [forwarded] = parsed.attachments
    assert forwarded.filename == "level 998.eml"
    assert parsed.text == ""
    assert not parsed.truncated


def test_max_bytes_truncates() -> None:
    raw = single("text/plain", b"x" * 5000)
    parsed = parse_mail(raw, ParseLimits(max_bytes=1000))
    assert parsed.truncated
    assert len(parsed.text) < 1000
    assert any("larger than 1000 bytes" in defect for defect in parsed.defects)


def test_max_parts() -> None:
    parts = [part("Content-Type: text/plain", body=f"p{i}") for i in range(50)]
    parsed = parse_mail(multipart("multipart/mixed", "many", *parts), ParseLimits(max_parts=10))
    assert parsed.truncated
    assert parsed.text == "\n".join(f"p{i}" for i in range(9))


def test_max_attachment_bytes() -> None:
    raw = multipart(
        "multipart/mixed", "big",
        part("Content-Type: text/plain", body="hi"),
        part("Content-Type: application/zip", "Content-Disposition: attachment; filename=big.zip",
             body=b"z" * 2000),
        part("Content-Type: image/png", "Content-Disposition: attachment; filename=small.png",
             body=b"p" * 10),
    )
    parsed = parse_mail(raw, ParseLimits(max_attachment_bytes=1000))
    assert [a.filename for a in parsed.attachments] == ["small.png"]
    assert parsed.truncated
    assert any("'big.zip' (2000 bytes)" in defect for defect in parsed.defects)


def test_max_text_chars() -> None:
    parsed = parse_mail(single("text/plain", b"y" * 500), ParseLimits(max_text_chars=100))
    assert parsed.text == "y" * 100
    assert parsed.truncated


def test_deeply_nested_html_is_flattened_before_sanitising() -> None:
    html = "<div>" * 50_000 + "deep" + "</div>" * 50_000
    limited, cut = limit_nesting(html)
    assert cut and limited.count("<div>") == 400
    parsed = parse_mail(single("text/html", html.encode()))
    assert parsed.text == "deep"
    assert "HTML nested too deeply; the deepest tags were dropped" in parsed.defects


def test_many_quotes_in_an_address_header_stay_cheap() -> None:
    parsed = headers_only("To: " + '"' * 50_000, "Cc: " + " ," * 50_000)
    assert parsed.cc == []
    assert_clean(parsed)


# --------------------------------------------------------------------------------------------
# Never raises


SAMPLE = multipart(
    "multipart/mixed", "s",
    part("Content-Type: multipart/alternative; boundary=a", body=(
        b"--a\r\n" + part("Content-Type: text/plain; charset=koi8-r",
                          "Content-Transfer-Encoding: quoted-printable",
                          body=quopri.encodestring("Привет".encode("koi8-r"))) + b"\r\n"
        b"--a\r\n" + part("Content-Type: text/html; charset=utf-8", body=HTML) + b"\r\n--a--")),
    part("Content-Type: application/pdf; name*=utf-8''%D0%A4.pdf",
         "Content-Transfer-Encoding: base64", body=base64.encodebytes(b"%PDF" * 20)),
    part("Content-Type: message/rfc822", body=message("Subject: =?utf-8?Q?x?=", body="inner")),
    headers=("Subject: =?utf-8?B?0J/RgNC40LLQtdGC?=", "Message-ID: <s@example>",
             "Date: Mon, 1 Jan 2024 00:00:00 +0000"),
)


def test_sample_is_sane() -> None:
    parsed = parse_mail(SAMPLE)
    assert parsed.text == "Привет"
    assert [a.filename for a in parsed.attachments] == ["Ф.pdf", "x.eml"]
    assert parsed.defects == [] and not parsed.truncated


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4000))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    parsed = parse_mail(raw)
    assert isinstance(parsed, ParsedMail)
    assert_clean(parsed)


@st.composite
def mutated_sample(draw: st.DrawFn) -> bytes:
    data = bytearray(SAMPLE)
    for _ in range(draw(st.integers(1, 8))):
        position = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["flip", "delete", "insert", "duplicate"]))
        if action == "flip" and position < len(data):
            data[position] = draw(st.integers(0, 255))
        elif action == "delete":
            del data[position : position + draw(st.integers(1, 200))]
        elif action == "insert":
            data[position:position] = draw(st.sampled_from(
                [b"\r\n", b"--s\r\n", b"--a--", b"=?utf-8?B?", b'"', b"\x00", b"\xff\xfe",
                 b"Content-Type: multipart/mixed; boundary=s\r\n", b"\r\n\r\n", b"=\r\n"]))
        else:
            data[position:position] = data[position : position + draw(st.integers(1, 300))]
    return bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_sample())
def test_mutated_sample_never_raises(raw: bytes) -> None:
    assert_clean(parse_mail(raw))


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=0, max_size=3000), st.integers(min_value=1, max_value=500))
def test_truncated_when_input_exceeds_max_bytes(raw: bytes, max_bytes: int) -> None:
    parsed = parse_mail(SAMPLE + raw, ParseLimits(max_bytes=max_bytes))
    assert parsed.truncated
    assert_clean(parsed)


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=2, max_size=3000), st.data())
def test_arbitrary_bytes_over_max_bytes_are_truncated(raw: bytes, data: st.DataObject) -> None:
    max_bytes = data.draw(st.integers(min_value=1, max_value=len(raw) - 1))
    parsed = parse_mail(raw, ParseLimits(max_bytes=max_bytes))
    assert parsed.truncated
    assert len(parsed.text) <= max_bytes
    assert_clean(parsed)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_header_text_never_raises(value: str) -> None:
    raw = ("From: " + value + "\r\nTo: " + value + "\r\nSubject: " + value + "\r\n"
           "Content-Type: text/plain; " + value + "\r\n\r\nbody").encode("utf-8", "surrogatepass")
    assert_clean(parse_mail(raw))


def test_an_internal_error_still_returns_the_raw_text(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(raw: bytes, limits: ParseLimits) -> ParsedMail:
        raise RuntimeError("bug")

    monkeypatch.setattr(parse_module, "_parse", explode)
    parsed = parse_mail(b"Subject: x\r\n\r\nbody \xff\x00")
    assert parsed.text == "Subject: x\n\nbody \ufffd"
    assert parsed.defects == ["parser failure (RuntimeError); body read as raw text"]
    assert_clean(parsed)


def test_decode_words_is_exact_on_plain_text() -> None:
    assert decode_words("no words here =? ?=", Decoder()) == "no words here =? ?="


def test_parsed_mail_is_frozen() -> None:
    parsed = parse_mail(SAMPLE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.subject = "x"  # type: ignore[misc]
