"""BlobStore on S3 (the stack's bucket)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote


class S3Blobs:
    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def put(self, key: str, content: bytes, content_type: str) -> None:
        self._client.put_object(Bucket=self._bucket, Key=key, Body=content,
                                ContentType=content_type)

    def get(self, key: str) -> bytes:
        content: bytes = self._client.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        return content

    def download_url(self, key: str, filename: str, seconds: int = 300) -> str:
        disposition = f"attachment; filename*=UTF-8''{quote(filename)}"
        url: str = self._client.generate_presigned_url(
            "get_object", ExpiresIn=seconds,
            Params={"Bucket": self._bucket, "Key": key,
                    "ResponseContentDisposition": disposition})
        return url
