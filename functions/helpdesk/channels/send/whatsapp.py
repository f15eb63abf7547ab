"""WhatsApp Cloud API client (`secrets.account_id` is the phone_number_id).

Relied on (developers.facebook.com/docs/whatsapp/cloud-api): bearer token in Authorization;
`POST /<version>/<phone_number_id>/messages` with JSON `{"messaging_product": "whatsapp",
"recipient_type": "individual", "to", "type": "text", "text": {"body"}}` answers
`{"messages": [{"id": "wamid..."}]}`; `POST /<version>/<phone_number_id>/media` multipart with
`messaging_product`, `type` (MIME type) and `file` answers `{"id"}`, sent as a `document`
message `{"id", "filename", "caption"}`; `GET /<version>/<media_id>` answers `{"url",
"mime_type", "file_size", ...}` and the url itself needs the same bearer token. The API has no
idempotency key."""

from __future__ import annotations

import mimetypes
from typing import Any

from helpdesk.channels.events import ChannelSecrets
from helpdesk.channels.send.base import BaseClient, DownloadedFile, ProviderError, file_part
from helpdesk.channels.send.graph import DEFAULT_BASE_URL, GRAPH_VERSION, graph_error
from helpdesk.channels.send.http import Http
from helpdesk.delivery import PermanentFailure


class WhatsAppClient(BaseClient):
    provider = "whatsapp"
    default_base_url = DEFAULT_BASE_URL

    def __init__(self, secrets: ChannelSecrets, base_url: str | None = None,
                 http: Http | None = None) -> None:
        super().__init__(secrets, base_url, http)
        if not secrets.account_id:
            raise PermanentFailure("whatsapp: the channel has no phone_number_id")
        self._phone = f"{self._base}/{GRAPH_VERSION}/{secrets.account_id}"
        self._auth = {"Authorization": f"Bearer {secrets.token}"}

    def send_text(self, conversation: str, text: str, *, idempotency_key: str = "") -> str:
        return self._send(conversation, "text", {"body": text})

    def send_file(self, conversation: str, name: str, content: bytes, content_type: str,
                  caption: str = "", *, idempotency_key: str = "", public_url: str = "") -> str:
        part = file_part(name, content, content_type)
        uploaded = self._call("POST", f"{self._phone}/media", headers=self._auth, multipart=[
            ("messaging_product", "whatsapp"), ("type", part[2]), ("file", part)])
        document = {"id": str(self._pick(uploaded, "id")), "filename": name}
        if caption:
            document["caption"] = caption
        return self._send(conversation, "document", document)

    def download(self, file_ref: str) -> DownloadedFile:
        media = self._call("GET", f"{self._base}/{GRAPH_VERSION}/{file_ref}", headers=self._auth)
        url = self._pick(media, "url")
        size = str(media.get("file_size", ""))  # a string in the API's answers
        if size.isdigit() and int(size) > self._http.max_download:
            raise PermanentFailure(f"whatsapp: file too large ({size} bytes, limit "
                                   f"{self._http.max_download})")
        # Media carry no file name; the webhook's Media.name has it when the customer sent one.
        extension = mimetypes.guess_extension(str(media.get("mime_type", ""))) or ""
        return self._fetch(url, headers=self._auth, name=f"{file_ref}{extension}")

    def _send(self, to: str, kind: str, content: dict[str, str]) -> str:
        answer = self._call("POST", f"{self._phone}/messages", headers=self._auth, json={
            "messaging_product": "whatsapp", "recipient_type": "individual", "to": to,
            "type": kind, kind: content})
        return str(self._pick(answer, "messages", 0, "id"))

    def _provider_error(self, payload: Any) -> ProviderError | None:
        return graph_error(payload)
