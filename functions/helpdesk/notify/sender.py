"""Send a staff notification once per key: a marker item is written after a successful send
(a crash between the two may repeat it; a staff notice twice beats none). Temporary
failures raise for the workflow's retry; permanent ones are reported, not raised."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import TYPE_CHECKING, Literal, Protocol

from urllib3.exceptions import HTTPError

from helpdesk.channels.outbound import provider_client
from helpdesk.channels.send.http import Http
from helpdesk.delivery import PermanentFailure, TemporaryFailure
from helpdesk.mail.outbound import MailSender
from helpdesk.notify.model import Notification
from helpdesk.ssrf import AllowList
from helpdesk.store.markers import NOTIFICATION_SENT, Markers

if TYPE_CHECKING:
    from helpdesk.channels.service import Channels
    from helpdesk.records import Records
    from helpdesk.store.repository import Repository

KEEP_DAYS = 30


class NotifierDesk(Protocol):
    """What sending a staff notice needs of the helpdesk: its marker items, the channel a
    messenger notice goes through, and the clock."""

    @property
    def repository(self) -> Repository: ...

    @property
    def markers(self) -> Markers: ...

    @property
    def records(self) -> Records: ...

    @property
    def channels(self) -> Channels: ...

    def clock(self) -> datetime: ...


@dataclass(frozen=True)
class NotificationResult:
    status: Literal["sent", "skipped", "failed"]
    reason: str = ""


class StaffNotifier:
    def __init__(self, helpdesk: NotifierDesk, mail: MailSender, *, from_address: str,
                 http: Http | None = None, allow: AllowList | None = None) -> None:
        self.helpdesk = helpdesk
        self._mail = mail
        self._from = from_address
        self._allow = allow  # None: public addresses only (Slack hooks, the bot's API)
        self._http = http or Http(allow=allow)

    def send(self, notification: Notification) -> NotificationResult:
        markers = self.helpdesk.markers
        if markers.seen(NOTIFICATION_SENT, notification.key):
            return NotificationResult("skipped", "already sent")
        try:
            {"email": self._email, "telegram": self._telegram,
             "slack": self._slack}[notification.kind](notification)
        except PermanentFailure as refused:
            return NotificationResult("failed", str(refused))
        now = int(self.helpdesk.clock().timestamp())
        # A parallel send that marked it first leaves its marker: the notice went out.
        markers.mark(NOTIFICATION_SENT, notification.key, kind=notification.kind,
                     expires_at=now + KEEP_DAYS * 86400)
        return NotificationResult("sent")

    def _email(self, notification: Notification) -> None:
        message = EmailMessage()
        message["From"] = self._from
        message["To"] = ", ".join(notification.to)
        message["Subject"] = notification.subject or "Helpdesk notification"
        # The helpdesk's clock, not the host's: on the local stack it can be moved forward.
        message["Date"] = format_datetime(self.helpdesk.clock().astimezone(UTC), usegmt=True)
        digest = hashlib.sha256(notification.key.encode()).hexdigest()[:24]
        message["Message-ID"] = f"<notify-{digest}@{self._from.rpartition('@')[2]}>"
        message["Auto-Submitted"] = "auto-generated"  # robots on the other side stay quiet
        message.set_content(notification.text)
        self._mail.send_raw(self._from, list(notification.to), message.as_bytes())

    def _telegram(self, notification: Notification) -> None:
        assert notification.channel_id is not None
        channel = self.helpdesk.records.channels.get(notification.channel_id)
        if channel is None or not channel.enabled or channel.type != "telegram":
            raise PermanentFailure(f"channel {notification.channel_id} is not an enabled "
                                   "Telegram channel")
        secrets = self.helpdesk.channels.secrets_of(channel.id)
        provider_client(channel, secrets, self._allow).send_text(notification.to[0],
                                                                 notification.text)

    def _slack(self, notification: Notification) -> None:
        assert notification.url is not None
        try:  # the SSRF guard inside refuses internal addresses (BlockedDestination)
            answer = self._http.request("POST", notification.url,
                                        json={"text": notification.text})
        except HTTPError as failed:  # refused, reset, timed out: Slack may be back soon
            raise TemporaryFailure(f"Slack unreachable: {failed}") from None
        if answer.status >= 500 or answer.status == 429:
            raise TemporaryFailure(f"Slack answered HTTP {answer.status}")
        if answer.status >= 300:
            raise PermanentFailure(f"Slack answered HTTP {answer.status}: "
                                   f"{answer.body[:200].decode('utf-8', 'replace')}")
