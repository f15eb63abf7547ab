"""Where raw mail and attachments live: S3 on AWS (store/s3.py), memory in unit tests."""

from __future__ import annotations

import threading
from typing import Protocol


class BlobStore(Protocol):
    def put(self, key: str, content: bytes, content_type: str) -> None: ...

    def get(self, key: str) -> bytes: ...

    def download_url(self, key: str, filename: str, seconds: int = 300) -> str: ...


class MemoryBlobs:
    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, str]] = {}
        self._lock = threading.Lock()

    def put(self, key: str, content: bytes, content_type: str) -> None:
        with self._lock:
            self.objects[key] = (content, content_type)

    def get(self, key: str) -> bytes:
        with self._lock:
            return self.objects[key][0]

    def download_url(self, key: str, filename: str, seconds: int = 300) -> str:
        return f"memory://{key}"
