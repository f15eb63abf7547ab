"""About the API itself: /api/v2/openapi.json (no key needed)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from chalice import Blueprint, Response

from api.errors import JSON_TYPE
from api.openapi import PREFIX, UNAUTHENTICATED, document
from api.routing import endpoint

meta = Blueprint(__name__)
PUBLIC_ROUTES = {PREFIX + path for path in UNAUTHENTICATED}


@cache
def _document() -> str:
    return json.dumps(document(meta.current_app.routes), ensure_ascii=False)


@endpoint(meta, "/openapi.json", ("GET",))
def openapi() -> Any:
    return Response(body=_document(), status_code=200, headers={"Content-Type": JSON_TYPE})
