"""Viber REST Bot API client.

Relied on (developers.viber.com/docs/api/rest-bot-api): `POST /pa/send_message` with the
`X-Viber-Auth-Token` header and JSON `{"receiver", "type": "text", "text", "sender": {"name"
(max 28 chars)}}`; answers HTTP 200 with `{"status": 0, "status_message": "ok",
"message_token": n}`, any other status is an error (5 receiverNotRegistered, 6
receiverNotSubscribed, 12 tooManyRequests = rate control breach). A file message is `{"type":
"file", "media": <URL Viber downloads>, "size", "file_name"}`: Viber cannot take bytes, so
send_file needs `public_url`, and a file message has no text, so a caption follows as a second
message. Inbound media carry plain URLs. The API has no idempotency key."""

from __future__ import annotations

from typing import Any

from helpdesk.channels.events import ChannelSecrets
from helpdesk.channels.send.base import BaseClient, DownloadedFile, ProviderError
from helpdesk.channels.send.http import Http
from helpdesk.delivery import PermanentFailure

TEMPORARY_STATUSES = frozenset({12})
SENDER_NAME_LIMIT = 28


class ViberClient(BaseClient):
    provider = "viber"
    default_base_url = "https://chatapi.viber.com"

    def __init__(self, secrets: ChannelSecrets, base_url: str | None = None,
                 http: Http | None = None, *, sender_name: str = "Support") -> None:
        super().__init__(secrets, base_url, http)
        self._sender = {"name": sender_name[:SENDER_NAME_LIMIT]}

    def send_text(self, conversation: str, text: str, *, idempotency_key: str = "") -> str:
        return self._send({"receiver": conversation, "type": "text", "text": text})

    def send_file(self, conversation: str, name: str, content: bytes, content_type: str,
                  caption: str = "", *, idempotency_key: str = "", public_url: str = "") -> str:
        if not public_url:
            raise PermanentFailure("viber needs a public file URL")
        token = self._send({"receiver": conversation, "type": "file", "media": public_url,
                            "size": len(content), "file_name": name})
        if caption:
            self.send_text(conversation, caption)
        return token

    def download(self, file_ref: str) -> DownloadedFile:
        return self._fetch(file_ref)

    def _send(self, message: dict[str, Any]) -> str:
        answer = self._call("POST", f"{self._base}/pa/send_message",
                            headers={"X-Viber-Auth-Token": self._secrets.token},
                            json={**message, "sender": self._sender})
        return str(self._pick(answer, "message_token"))

    def _provider_error(self, payload: Any) -> ProviderError | None:
        if not isinstance(payload, dict) or payload.get("status", 0) == 0:
            return None
        status = payload["status"]
        return ProviderError(f"status {status}: {payload.get('status_message', 'error')}",
                             temporary=status in TEMPORARY_STATUSES)
