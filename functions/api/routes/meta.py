"""About the API itself: /api/v2/openapi.json (no key needed)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from chalice import Blueprint, Response

from api.errors import JSON_TYPE
from api.openapi import document
from api.routes.public import PUBLIC_PATHS
from api.routing import endpoint

meta = Blueprint(__name__)
PUBLIC_ROUTES = {"/api/v2/openapi.json"} | {"/api/v2" + path for path in PUBLIC_PATHS}


@cache
def _document() -> str:
    return json.dumps(document(meta.current_app.routes), ensure_ascii=False)


@endpoint(meta, "/openapi.json", ("GET",))
def openapi() -> Any:
    return Response(body=_document(), status_code=200, headers={"Content-Type": JSON_TYPE})
