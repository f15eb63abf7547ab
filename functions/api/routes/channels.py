"""Channels (/api/v2/channels/...): our extension for connecting messengers. Admins only.
Credentials are write-only: answers carry masked hints, and secrets we generated are shown
once, in the answer to the create."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from api.deps import current
from api.requests import Query, paginate, parse, path_id
from api.routing import data, endpoint, viewer
from api.shapes import STR, FromModel, mapping
from helpdesk.channels.model import Channel, ChannelCreate, ChannelUpdate

channels = Blueprint(__name__)


def _view(channel: Channel) -> dict[str, Any]:
    return {**channel.model_dump(mode="json"), "webhook_path": channel.webhook_path,
            "webhook_url": _public_base() + channel.webhook_path}


CHANNEL = FromModel(Channel, {"webhook_path": STR, "webhook_url": STR},
                    {"generated_secrets": mapping(STR)})  # in the answer to a create only


def _public_base() -> str:
    """Where providers reach us, as the caller reached us: API Gateway's default domain
    carries the stage in the path, a custom domain or the local server does not."""
    request = channels.current_request
    headers: Any = request.headers or {}
    host = headers.get("host") or request.context.get("domainName", "localhost")
    scheme = headers.get("x-forwarded-proto", "http")
    stage = request.context.get("stage", "")
    in_path = f"/{stage}" if stage and ".execute-api." in host else ""
    return f"{scheme}://{host}{in_path}"


@endpoint(channels, "/channels", ("GET",))
def list_channels() -> Any:
    page, pagination = paginate(current().channels.list(viewer()),
                                Query(channels.current_request))
    return data([_view(c) for c in page], pagination=pagination)


@endpoint(channels, "/channels", ("POST",))
def create_channel() -> Any:
    fields = parse(ChannelCreate, channels.current_request)
    channel, generated = current().channels.create(viewer(), fields)
    return data({**_view(channel), "generated_secrets": generated})


@endpoint(channels, "/channels/{channel_id}", ("GET",))
def get_channel(channel_id: str) -> Any:
    return data(_view(current().channels.get(viewer(), path_id(channel_id, "channel_id"))))


@endpoint(channels, "/channels/{channel_id}", ("PUT",))
def update_channel(channel_id: str) -> Any:
    fields = parse(ChannelUpdate, channels.current_request)
    number = path_id(channel_id, "channel_id")
    return data(_view(current().channels.update(viewer(), number, fields)))


@endpoint(channels, "/channels/{channel_id}", ("DELETE",))
def disable_channel(channel_id: str) -> Any:
    number = path_id(channel_id, "channel_id")
    return data(_view(current().channels.disable(viewer(), number)))
