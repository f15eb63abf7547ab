"""Channel credentials as SecureString parameters under one prefix (KMS-encrypted at rest,
readable only by the functions the template grants)."""

from __future__ import annotations

from typing import Any


class SsmSecrets:
    def __init__(self, client: Any, prefix: str) -> None:
        self._client = client
        self._prefix = "/" + prefix.strip("/") + "/"

    def put(self, name: str, value: str) -> None:
        self._client.put_parameter(Name=self._prefix + name, Value=value, Type="SecureString",
                                   Overwrite=True)

    def get(self, name: str) -> str | None:
        try:
            answer = self._client.get_parameter(Name=self._prefix + name, WithDecryption=True)
        except self._client.exceptions.ParameterNotFound:
            return None
        return str(answer["Parameter"]["Value"])
