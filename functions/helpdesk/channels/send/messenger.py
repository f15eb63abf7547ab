"""Messenger Send API client for Facebook Pages and Instagram (Messenger Platform, page
access token).

Relied on (developers.facebook.com/docs/messenger-platform/reference/send-api and
.../send-messages/saving-assets): `POST /<version>/me/messages?access_token=...` with JSON
`{"recipient": {"id"}, "messaging_type": "RESPONSE", "message": {"text"}}` answers
`{"recipient_id", "message_id"}`; a local file goes as multipart/form-data with `recipient`
and `message` as JSON strings (`{"attachment": {"type": "file", "payload": {"is_reusable":
false}}}`) and the bytes in `filedata` (25 MB max; Instagram takes the same call). An
attachment message cannot carry text, so a caption follows as a second message. Inbound
attachments carry plain CDN URLs. The API has no idempotency key."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from helpdesk.channels.send.base import BaseClient, DownloadedFile, ProviderError, file_part
from helpdesk.channels.send.graph import DEFAULT_BASE_URL, GRAPH_VERSION, graph_error


class MessengerClient(BaseClient):
    provider = "facebook"
    default_base_url = DEFAULT_BASE_URL

    def send_text(self, conversation: str, text: str, *, idempotency_key: str = "") -> str:
        answer = self._call("POST", self._url(), json={
            "recipient": {"id": conversation}, "messaging_type": "RESPONSE",
            "message": {"text": text}})
        return str(self._pick(answer, "message_id"))

    def send_file(self, conversation: str, name: str, content: bytes, content_type: str,
                  caption: str = "", *, idempotency_key: str = "", public_url: str = "") -> str:
        attachment = {"attachment": {"type": "file", "payload": {"is_reusable": False}}}
        answer = self._call("POST", self._url(), multipart=[
            ("recipient", json.dumps({"id": conversation})),
            ("messaging_type", "RESPONSE"),
            ("message", json.dumps(attachment)),
            ("filedata", file_part(name, content, content_type))])
        message_id = str(self._pick(answer, "message_id"))
        if caption:
            self.send_text(conversation, caption)
        return message_id

    def download(self, file_ref: str) -> DownloadedFile:
        return self._fetch(file_ref)

    def _url(self) -> str:
        return (f"{self._base}/{GRAPH_VERSION}/me/messages?"
                + urlencode({"access_token": self._secrets.token}))

    def _provider_error(self, payload: Any) -> ProviderError | None:
        return graph_error(payload)


class InstagramClient(MessengerClient):
    provider = "instagram"
