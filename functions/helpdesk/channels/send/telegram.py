"""Telegram Bot API client.

Relied on (core.telegram.org/bots/api): methods live at `/bot<token>/<method>` and answer
`{"ok": true, "result": ...}` or `{"ok": false, "error_code": n, "description": "..."}` (429
adds `parameters.retry_after`); sendMessage takes JSON `chat_id`, `text` and returns the
Message (`result.message_id`); sendDocument takes multipart/form-data with the file in the
`document` field plus `chat_id` and `caption`; getFile returns `result.file_path` (and
`file_size` when known), the file itself is served at `/file/bot<token>/<file_path>` (bots may
download up to 20 MB). The Bot API has no idempotency key, so `idempotency_key` is unused."""

from __future__ import annotations

from typing import Any

from helpdesk.channels.send.base import BaseClient, DownloadedFile, ProviderError, file_part
from helpdesk.channels.send.http import MultipartField
from helpdesk.delivery import PermanentFailure


class TelegramClient(BaseClient):
    provider = "telegram"
    default_base_url = "https://api.telegram.org"

    def send_text(self, conversation: str, text: str, *, idempotency_key: str = "") -> str:
        answer = self._api("sendMessage", json={"chat_id": conversation, "text": text})
        return str(self._pick(answer, "result", "message_id"))

    def send_file(self, conversation: str, name: str, content: bytes, content_type: str,
                  caption: str = "", *, idempotency_key: str = "", public_url: str = "") -> str:
        fields: list[MultipartField] = [("chat_id", conversation)]
        if caption:
            fields.append(("caption", caption))
        fields.append(("document", file_part(name, content, content_type)))
        answer = self._api("sendDocument", multipart=fields)
        return str(self._pick(answer, "result", "message_id"))

    def download(self, file_ref: str) -> DownloadedFile:
        info = self._pick(self._api("getFile", json={"file_id": file_ref}), "result")
        size = info.get("file_size") if isinstance(info, dict) else None
        if isinstance(size, int) and size > self._http.max_download:
            raise PermanentFailure(f"telegram: file too large ({size} bytes, limit "
                                   f"{self._http.max_download})")
        path = self._pick(info, "file_path")
        return self._fetch(f"{self._base}/file/bot{self._secrets.token}/{path}")

    def _api(self, method: str, **request: Any) -> Any:
        return self._call("POST", f"{self._base}/bot{self._secrets.token}/{method}", **request)

    def _provider_error(self, payload: Any) -> ProviderError | None:
        if not isinstance(payload, dict) or payload.get("ok") is not False:
            return None
        code = payload.get("error_code")
        text = str(payload.get("description") or f"error {code}")
        retry_after = (payload.get("parameters") or {}).get("retry_after")
        if retry_after:
            text += f" (retry after {retry_after} s)"
        return ProviderError(text, temporary=code == 429 or (isinstance(code, int) and code >= 500))
