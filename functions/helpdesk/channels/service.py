"""Admin management of channels. Credentials go to the secret store; the table keeps only
masked hints, so neither the API nor a table export shows a usable token. A channel's
`options.api_base_url` must be public when saved (the SSRF guard; every request checks again)."""

from __future__ import annotations

import json
import secrets as random
from collections.abc import Callable
from dataclasses import asdict, replace
from datetime import datetime

from helpdesk.access import Viewer
from helpdesk.channels.events import ChannelSecrets
from helpdesk.channels.model import (
    Channel,
    ChannelCreate,
    ChannelOptions,
    ChannelUpdate,
    OptionsInput,
    hint,
    merged_options,
)
from helpdesk.dictionaries import Dictionaries
from helpdesk.errors import NotFound, UnknownReference
from helpdesk.ssrf import AllowList, BlockedDestination, check_at_the_door
from helpdesk.store import keys
from helpdesk.store.collection import VersionedCollection
from helpdesk.store.repository import Repository
from helpdesk.store.secrets import SecretStore

# Secrets we make up when the admin gives none: he registers them with the provider.
GENERATED = {"telegram": ("webhook_secret",), "vk": ("webhook_secret",),
             "custom": ("webhook_secret",), "whatsapp": ("verify_token",),
             "facebook": ("verify_token",), "instagram": ("verify_token",),
             "phone": ("webhook_secret",)}


class Channels:
    def __init__(self, repository: Repository, records: VersionedCollection[Channel],
                 dictionaries: Dictionaries, secrets: SecretStore,
                 clock: Callable[[], datetime], allow: AllowList | None = None) -> None:
        self._repository = repository
        self._records = records
        self._dictionaries = dictionaries
        self._secrets = secrets
        self._clock = clock
        self._allow = allow  # None: no exceptions (local testing admits 127.0.0.1)

    def list(self, viewer: Viewer) -> list[Channel]:
        viewer.require_admin("manage channels")
        return self._records.all()

    def get(self, viewer: Viewer, channel_id: int) -> Channel:
        viewer.require_admin("manage channels")
        return self._require(channel_id)

    def create(self, viewer: Viewer, fields: ChannelCreate) -> tuple[Channel, dict[str, str]]:
        """The channel and the secrets generated for it, shown this once."""
        viewer.require_admin("manage channels")
        self._check_options(fields.options)
        if fields.department_id is not None:
            self._dictionaries.require("departments", fields.department_id, "department_id")
        given = fields.secrets.given()
        generated = {name: random.token_urlsafe(24) for name in GENERATED.get(fields.type, ())
                     if name not in given}
        values = ChannelSecrets(**given, **generated)
        now = self._clock()
        channel = Channel(id=self._repository.ids.next_id("channel"), type=fields.type,
                          name=fields.name, department_id=fields.department_id,
                          options=merged_options(ChannelOptions(), fields.options),
                          secret_hints=_hints(values), date_created=now, date_updated=now,
                          version=1)
        self._secrets.put(keys.channel_secret_name(channel.id), json.dumps(asdict(values)))
        self._records.save(channel, None)
        if channel.type == "phone":  # the PBX calls /telephony/calls/@<channel_key>/
            generated["channel_key"] = f"{channel.id}-{values.webhook_secret}"
        return channel, generated

    def update(self, viewer: Viewer, channel_id: int, fields: ChannelUpdate) -> Channel:
        viewer.require_admin("manage channels")
        channel = self._require(channel_id)
        previous = channel.version
        self._check_options(fields.options)
        if fields.department_id is not None:
            self._dictionaries.require("departments", fields.department_id, "department_id")
        # null leaves a field as it is (model_copy does not validate: `"enabled": null` was
        # stored, and every later read of the channel failed); department_id null unsets it.
        changes = {name: value for name, value in fields.model_dump(
            exclude_unset=True, exclude={"options", "secrets"}).items()
            if value is not None or name == "department_id"}
        channel = channel.model_copy(update=changes)
        channel.options = merged_options(channel.options, fields.options)
        if fields.secrets is not None and fields.secrets.given():
            values = replace(self.secrets_of(channel.id), **fields.secrets.given())
            self._secrets.put(keys.channel_secret_name(channel.id), json.dumps(asdict(values)))
            channel.secret_hints = _hints(values)
        channel.version, channel.date_updated = previous + 1, self._clock()
        self._records.save(channel, previous)
        return channel

    def disable(self, viewer: Viewer, channel_id: int) -> Channel:
        """Channels are disabled, not erased: their tickets keep pointing at them."""
        return self.update(viewer, channel_id, ChannelUpdate(enabled=False))

    # --- for the webhook and delivery paths (no viewer: they are the channel itself) --------
    def active(self, channel_type: str, channel_id: int) -> Channel:
        channel = self._records.get(channel_id)
        if channel is None or channel.type != channel_type or not channel.enabled:
            raise NotFound(f"no active {channel_type} channel {channel_id}")
        return channel

    def secrets_of(self, channel_id: int) -> ChannelSecrets:
        stored = self._secrets.get(keys.channel_secret_name(channel_id))
        return ChannelSecrets(**json.loads(stored)) if stored else ChannelSecrets()

    def _check_options(self, options: OptionsInput | None) -> None:
        """An API base URL that is plainly not public is refused when saved; the clients
        check every request's address again after DNS."""
        url = options.api_base_url if options else None
        if not url:
            return
        try:
            check_at_the_door(url, allow=self._allow)
        except BlockedDestination as blocked:
            raise UnknownReference(f"options.api_base_url: {blocked}",
                               field="options.api_base_url") from None

    def _require(self, channel_id: int) -> Channel:
        channel = self._records.get(channel_id)
        if channel is None:
            raise NotFound(f"channel {channel_id} does not exist")
        return channel


def _hints(values: ChannelSecrets) -> dict[str, str]:
    return {name: hint(value) for name, value in asdict(values).items() if value}
