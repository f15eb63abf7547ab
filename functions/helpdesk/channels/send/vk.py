"""VK (VKontakte) community messages client.

Relied on (dev.vk.com, VK API schema 5.199): methods are `POST /method/<name>` with
form-encoded parameters including `access_token` and `v`; they answer HTTP 200 with
`{"response": ...}` or `{"error": {"error_code": n, "error_msg": "..."}}`. Codes 6 (too many
requests per second), 9 (flood control) and 10 (internal server error) pass with time.
messages.send with `peer_id` returns the new message id; `random_id` makes it idempotent (VK
drops a repeat with the same random_id from the same sender). Files: docs.getMessagesUploadServer
(type=doc, peer_id) gives `upload_url`; a multipart POST of `file` there returns `{"file": ...}`
(or `{"error": "..."}`); docs.save(file) returns `{"type": "doc", "doc": {"id", "owner_id"}}`,
sent as attachment `doc<owner_id>_<id>`. Inbound attachments carry plain URLs."""

from __future__ import annotations

import hashlib
import secrets as random_source
from typing import Any

from helpdesk.channels.send.base import BaseClient, DownloadedFile, ProviderError, file_part

API_VERSION = "5.199"
TEMPORARY_ERRORS = frozenset({6, 9, 10})


def random_id(idempotency_key: str = "") -> int:
    """A positive int32: derived from the key when given (so a retried send is deduplicated by
    VK), random otherwise. Never zero, the value clients pass when they want no check."""
    if not idempotency_key:
        return random_source.randbelow(2**31 - 1) + 1
    digest = hashlib.sha256(idempotency_key.encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF or 1


class VkClient(BaseClient):
    provider = "vk"
    default_base_url = "https://api.vk.com"

    def send_text(self, conversation: str, text: str, *, idempotency_key: str = "") -> str:
        return str(self._api("messages.send", peer_id=conversation, message=text,
                             random_id=str(random_id(idempotency_key))))

    def send_file(self, conversation: str, name: str, content: bytes, content_type: str,
                  caption: str = "", *, idempotency_key: str = "", public_url: str = "") -> str:
        server = self._api("docs.getMessagesUploadServer", type="doc", peer_id=conversation)
        uploaded = self._call("POST", self._pick(server, "upload_url"),
                              multipart=[("file", file_part(name, content, content_type))])
        saved = self._api("docs.save", file=self._pick(uploaded, "file"), title=name)
        doc = self._pick(saved, saved.get("type", "doc") if isinstance(saved, dict) else "doc")
        attachment = f"doc{self._pick(doc, 'owner_id')}_{self._pick(doc, 'id')}"
        params = {"peer_id": conversation, "attachment": attachment,
                  "random_id": str(random_id(idempotency_key))}
        if caption:
            params["message"] = caption
        return str(self._api("messages.send", **params))

    def download(self, file_ref: str) -> DownloadedFile:
        return self._fetch(file_ref)

    def _api(self, method: str, **params: str) -> Any:
        form = {**params, "access_token": self._secrets.token, "v": API_VERSION}
        answer = self._call("POST", f"{self._base}/method/{method}", form=form)
        return self._pick(answer, "response")

    def _provider_error(self, payload: Any) -> ProviderError | None:
        error = payload.get("error") if isinstance(payload, dict) else None
        if isinstance(error, dict):
            code = error.get("error_code")
            return ProviderError(f"error {code}: {error.get('error_msg', 'unknown error')}",
                                 temporary=code in TEMPORARY_ERRORS)
        if isinstance(error, str):  # the upload server's shape
            detail = payload.get("error_descr", "")
            return ProviderError(f"upload failed: {error} {detail}".strip())
        return None

