"""Outgoing mail a developer can see: every raw mail sent through the embedded SES is also
written to a folder as an .eml file (open it in any mail client).

moto accepts SES sends and keeps them in memory only. Both `ses.send_raw_email` and
`sesv2.send_email` with `Content.Raw` end in `moto.ses.models.SESBackend.send_raw_email`
(the v2 backend delegates to the v1 one), so wrapping that one method sees every raw send,
in-process (`mock_aws`) and in server mode alike. Simple and templated sends are not
raw MIME and are not written (the app sends raw MIME; see LOCAL_AWS.md for why).

    outbox = Outbox(ROOT / ".local" / "outbox")
    outbox.install()
    verify_sender(boto3.client("sesv2"), "example.com")  # moto refuses unverified senders
    ...
    outbox.messages()  # [{"file": "0001-20261123T090000Z.eml", "subject": ..., ...}]
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
from datetime import UTC, datetime
from email import policy
from email.headerregistry import AddressHeader
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

_FILE = re.compile(r"^(\d{4,})-.*\.eml$")

# One patch for all installed outboxes: install/uninstall in any order leaves moto as it was.
_lock = threading.RLock()
_installed: list[Outbox] = []
_original: Any = None


class Outbox:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._write_lock = threading.Lock()
        self._last: int | None = None  # the highest file number, once read from the folder

    def install(self) -> None:
        """Start writing every raw SES send to the folder; idempotent."""
        global _original
        from moto.ses.models import SESBackend

        with _lock:
            if self in _installed:
                return
            if _original is None:
                _original = SESBackend.send_raw_email

                def send_raw_email(backend: Any, source: Any, destinations: Any,
                                   raw_data: str) -> Any:
                    message = _original(backend, source, destinations, raw_data)
                    # Written only once moto accepted it, i.e. what SES would have sent.
                    for outbox in list(_installed):
                        outbox._write(raw_data)
                    return message

                SESBackend.send_raw_email = send_raw_email  # type: ignore[assignment]
            _installed.append(self)

    def uninstall(self) -> None:
        """Stop writing; the last outbox to go gives moto its method back. Idempotent."""
        global _original
        from moto.ses.models import SESBackend

        with _lock:
            if self in _installed:
                _installed.remove(self)
            if not _installed and _original is not None:
                SESBackend.send_raw_email = _original  # type: ignore[method-assign]
                _original = None

    def __enter__(self) -> Outbox:
        self.install()
        return self

    def __exit__(self, *_: object) -> None:
        self.uninstall()

    def _write(self, raw_data: str) -> None:
        # moto decoded the bytes as UTF-8 (it refuses anything else), so this is lossless.
        data = raw_data.encode("utf-8", errors="surrogateescape")
        try:
            with self._write_lock:
                self.folder.mkdir(parents=True, exist_ok=True)
                if self._last is None:
                    # The folder is listed once: listed per send, it made the time of each
                    # mail grow with the mails sent before (+23 ms a mail after 5,000).
                    self._last = max((int(match.group(1)) for path in self.folder.iterdir()
                                      if (match := _FILE.match(path.name))), default=0)
                self._last = number = self._last + 1
                stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
                name = f"{number:04d}-{stamp}.eml"
                partial = self.folder / f".{name}.partial"
                partial.write_bytes(data)
                os.replace(partial, self.folder / name)  # readers never see half a mail
        except OSError:
            # The send itself succeeded; a full disk must not turn it into an SES error.
            logger.exception("could not write sent mail to %s", self.folder)

    def messages(self) -> list[dict[str, Any]]:
        """The sent mails, oldest first: file name and decoded headers. from/to/cc are bare
        addresses; subject is decoded; message_id, in_reply_to, references and date are
        the header values ("" when absent)."""
        files = sorted(((int(match.group(1)), path) for path in self.folder.iterdir()
                        if (match := _FILE.match(path.name))), key=lambda item: item[0])
        return [_summary(path) for _, path in files]


def _summary(path: Path) -> dict[str, Any]:
    data = path.read_bytes()
    headers = BytesHeaderParser(policy=policy.default).parsebytes(data)
    plain = BytesHeaderParser(policy=policy.compat32).parsebytes(data)

    def text(name: str) -> str:
        try:
            value = headers.get(name)
        except Exception:  # a malformed header: show what was written
            value = plain.get(name)
        return str(value or "").strip()

    def addresses(name: str) -> list[str]:
        found: list[str] = []
        for value in headers.get_all(name) or []:
            if isinstance(value, AddressHeader):
                try:
                    found.extend(address.addr_spec for address in value.addresses)
                    continue
                except Exception:
                    pass
            found.extend(address for _, address in getaddresses([str(value)]) if address)
        return found

    sender = addresses("from")
    return {
        "file": path.name,
        "from": sender[0] if sender else "",
        "to": addresses("to"),
        "cc": addresses("cc"),
        "subject": text("subject"),
        "message_id": text("message-id"),
        "in_reply_to": text("in-reply-to"),
        "references": text("references"),
        "date": text("date"),
    }


def verify_sender(ses_client: Any, domain_or_address: str) -> None:
    """Make `domain_or_address` a verified identity, so moto (like SES) accepts mail from it.
    Works with an `ses` or an `sesv2` client; verifying again is harmless."""
    service = ses_client.meta.service_model.service_name
    if service == "sesv2":
        # Real SES says AlreadyExists on a second call; moto does not. Either is fine here.
        with contextlib.suppress(ses_client.exceptions.AlreadyExistsException):
            ses_client.create_email_identity(EmailIdentity=domain_or_address)
    elif "@" in domain_or_address:
        ses_client.verify_email_identity(EmailAddress=domain_or_address)
    else:
        ses_client.verify_domain_identity(Domain=domain_or_address)
