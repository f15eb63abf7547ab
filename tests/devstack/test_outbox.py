"""devstack/outbox.py: raw mail sent through moto's SES lands in the outbox folder."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from devstack.outbox import Outbox, verify_sender

REPLY = (
    b"From: Helpdesk <support@helpdesk.example>\r\n"
    b"To: =?utf-8?q?Jos=C3=A9?= <jose@customer.example>\r\n"
    b"Cc: boss@customer.example\r\n"
    b"Subject: =?utf-8?b?UmU6IFByaW50ZXIga2lhcHV0IOKAlCBoZWxw?=\r\n"
    b"Date: Mon, 23 Nov 2026 09:05:00 +0000\r\n"
    b"Message-ID: <reply-1@helpdesk.example>\r\n"
    b"In-Reply-To: <m1@customer.example>\r\n"
    b"References: <m1@customer.example>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b"Bonjour Jos\xc3\xa9, it is fixed.\r\n"
)


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def outbox(tmp_path: Path, aws: None) -> Iterator[Outbox]:
    box = Outbox(tmp_path / "outbox")
    box.install()
    yield box
    box.uninstall()


def test_folder_is_created(tmp_path: Path) -> None:
    Outbox(tmp_path / ".local" / "outbox")
    assert (tmp_path / ".local" / "outbox").is_dir()


def test_ses_send_raw_email_lands_as_eml_with_the_same_bytes(outbox: Outbox) -> None:
    ses = boto3.client("ses", region_name="us-east-1")
    verify_sender(ses, "helpdesk.example")
    ses.send_raw_email(RawMessage={"Data": REPLY})

    [file] = list(outbox.folder.glob("*.eml"))
    assert file.read_bytes() == REPLY
    assert file.name.startswith("0001-") and file.name.endswith("Z.eml")
    assert outbox.messages() == [{
        "file": file.name,
        "from": "support@helpdesk.example",
        "to": ["jose@customer.example"],
        "cc": ["boss@customer.example"],
        "subject": "Re: Printer kiaput — help",
        "message_id": "<reply-1@helpdesk.example>",
        "in_reply_to": "<m1@customer.example>",
        "references": "<m1@customer.example>",
        "date": "Mon, 23 Nov 2026 09:05:00 +0000",
    }]


def test_sesv2_raw_content_lands_too_newest_last(outbox: Outbox) -> None:
    v1 = boto3.client("ses", region_name="us-east-1")
    v2 = boto3.client("sesv2", region_name="us-east-1")
    verify_sender(v2, "helpdesk.example")
    verify_sender(v2, "helpdesk.example")  # again: harmless
    v1.send_raw_email(RawMessage={"Data": REPLY})
    second = REPLY.replace(b"reply-1@", b"reply-2@")
    v2.send_email(FromEmailAddress="support@helpdesk.example",
                  Destination={"ToAddresses": ["jose@customer.example"]},
                  Content={"Raw": {"Data": second}})

    messages = outbox.messages()
    assert [m["message_id"] for m in messages] == ["<reply-1@helpdesk.example>",
                                                   "<reply-2@helpdesk.example>"]
    assert messages[1]["file"].startswith("0002-")
    assert (outbox.folder / messages[1]["file"]).read_bytes() == second
    # moto keeps its own copy as before: the outbox only adds the files.
    from moto.ses.models import ses_backends

    kept = ses_backends["123456789012"]["us-east-1"].sent_messages
    assert [m.raw_data.encode() for m in kept] == [REPLY, second]


def test_a_refused_send_writes_nothing(outbox: Outbox) -> None:
    ses = boto3.client("ses", region_name="us-east-1")
    with pytest.raises(ClientError) as refused:
        ses.send_raw_email(RawMessage={"Data": REPLY})  # sender never verified
    assert refused.value.response["Error"]["Code"] == "MessageRejected"
    assert outbox.messages() == []


def test_verify_sender_takes_an_address_with_the_v1_client(outbox: Outbox) -> None:
    ses = boto3.client("ses", region_name="us-east-1")
    verify_sender(ses, "support@helpdesk.example")
    assert "support@helpdesk.example" in ses.list_identities()["Identities"]
    ses.send_raw_email(RawMessage={"Data": REPLY})
    assert len(outbox.messages()) == 1


def test_install_and_uninstall_are_idempotent(tmp_path: Path, aws: None) -> None:
    from moto.ses.models import SESBackend

    original = SESBackend.send_raw_email
    first, second = Outbox(tmp_path / "a"), Outbox(tmp_path / "b")
    ses = boto3.client("ses", region_name="us-east-1")
    verify_sender(ses, "helpdesk.example")

    first.install()
    first.install()
    second.install()
    ses.send_raw_email(RawMessage={"Data": REPLY})
    assert len(first.messages()) == 1  # not twice
    assert len(second.messages()) == 1

    first.uninstall()
    first.uninstall()
    ses.send_raw_email(RawMessage={"Data": REPLY})
    assert len(first.messages()) == 1
    assert len(second.messages()) == 2
    second.uninstall()
    assert SESBackend.send_raw_email is original


def test_numbering_continues_after_existing_files(tmp_path: Path, aws: None) -> None:
    folder = tmp_path / "outbox"
    folder.mkdir()
    (folder / "0007-20261122T000000000000Z.eml").write_bytes(REPLY)
    (folder / "notes.txt").write_text("not a mail")
    with Outbox(folder) as box:
        ses: Any = boto3.client("ses", region_name="us-east-1")
        verify_sender(ses, "helpdesk.example")
        ses.send_raw_email(RawMessage={"Data": base64.b64decode(base64.b64encode(REPLY))})
        assert [m["file"][:5] for m in box.messages()] == ["0007-", "0008-"]
