"""A staff post on a messenger ticket, sent back through the provider's API; and the
media of customers' messages, fetched from the provider into the bucket."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from helpdesk.channels.events import ChannelSecrets
from helpdesk.channels.model import Channel
from helpdesk.channels.send import Http, ProviderClient, client_for
from helpdesk.delivery import PermanentFailure
from helpdesk.models import ActorType, Attachment, Delivery, Message
from helpdesk.ssrf import AllowList
from helpdesk.store.blobs import BlobStore
from helpdesk.stored import AdminLists, StoredRecords
from helpdesk.tickets import FILES_PER_MESSAGE

ClientMaker = Callable[[Channel, ChannelSecrets, AllowList | None], ProviderClient]


def provider_client(channel: Channel, secrets: ChannelSecrets,
                    allow: AllowList | None = None) -> ProviderClient:
    """The channel's client; every request it makes (to `api_base_url`, to a media URL) goes
    to public addresses only, except what `allow` admits (the helpdesk's `webhook_allow`)."""
    return client_for(channel.type, secrets, channel.options.api_base_url,
                      http=Http(allow=allow), sender_name=channel.options.sender_name)


class ChannelKeys(Protocol):
    def secrets_of(self, channel_id: int) -> ChannelSecrets: ...


class SentLinks(Protocol):
    def link_channel_message(self, channel_id: int, provider_message_id: str, *,
                             ticket_id: int, post_id: int, direction: str) -> None: ...


class OutboundDesk(Protocol):
    """What sending to messengers needs of the helpdesk: posts in storage, the channels and
    their keys, where a sent message's provider id is remembered, and the clock."""

    @property
    def repository(self) -> StoredRecords: ...

    @property
    def records(self) -> AdminLists: ...

    @property
    def channels(self) -> ChannelKeys: ...

    @property
    def links(self) -> SentLinks: ...

    @property
    def webhook_allow(self) -> AllowList | None: ...  # local testing: providers on 127.0.0.1

    def clock(self) -> datetime: ...


@dataclass
class ChannelOutbound:
    helpdesk: OutboundDesk
    blobs: BlobStore
    make_client: ClientMaker = provider_client

    def deliver(self, ticket_id: int, post_id: int) -> Delivery:
        """Idempotent per post: the text goes once (its provider id is recorded before the
        files), a retried step sends only what is missing. TemporaryFailure propagates for
        the workflow's retry; a permanent refusal is recorded on the post."""
        repository = self.helpdesk.repository
        ticket = repository.tickets.get_ticket(ticket_id)
        post = repository.tickets.get_message("post", ticket_id, post_id)
        if ticket is None or post is None or post.delivery is None:
            return Delivery(status="skipped", reason="nothing to deliver")
        if post.delivery.status != "queued" or post.author_type is not ActorType.STAFF:
            return post.delivery
        channel = (self.helpdesk.records.channels.get(ticket.channel_id) if ticket.channel_id
                   else None)
        if channel is None or not channel.enabled or not ticket.conversation:
            return self._record(post, post.delivery.model_copy(update={
                "status": "failed", "reason": "the ticket's channel is gone or disabled"})
            )
        client = self._client(channel)
        key = f"hd-{ticket.id}-{post.id}"
        attempts = post.delivery.attempts + 1
        try:
            sent_id = post.delivery.message_id
            if sent_id is None and post.text.strip():
                sent_id = client.send_text(ticket.conversation, post.text, idempotency_key=key)
                self._remember(channel, sent_id, ticket.id, post.id)
                self._record(post, post.delivery.model_copy(update={
                    "message_id": sent_id, "attempts": attempts}))
            for number, file in enumerate(post.files, start=1):
                if number <= post.delivery.files_sent:
                    continue
                file_id = client.send_file(
                    ticket.conversation, file.name, self.blobs.get(file.key), file.content_type,
                    idempotency_key=f"{key}-{number}",
                    public_url=self.blobs.download_url(file.key, file.name, seconds=86400))
                self._remember(channel, file_id, ticket.id, post.id)
                sent_id = sent_id or file_id
                self._record(post, post.delivery.model_copy(update={
                    "message_id": sent_id, "files_sent": number, "attempts": attempts}))
        except PermanentFailure as refused:
            return self._record(post, post.delivery.model_copy(update={
                "status": "failed", "reason": str(refused)[:500], "attempts": attempts})
            )
        return self._record(post, post.delivery.model_copy(update={
            "status": "sent", "message_id": sent_id, "attempts": attempts}))

    def fetch_media(self, ticket_id: int, post_id: int) -> list[Attachment]:
        """Downloads what a customer's message referenced and lists it as files of the post.
        A file the provider no longer serves, or one at an address that is not public, is noted
        on the post, not retried forever."""
        repository = self.helpdesk.repository
        ticket = repository.tickets.get_ticket(ticket_id)
        post = repository.tickets.get_message("post", ticket_id, post_id)
        if ticket is None or post is None or not post.media or not ticket.channel_id:
            return []
        channel = self.helpdesk.records.channels.get(ticket.channel_id)
        if channel is None:
            return []
        client = self._client(channel)
        fetched: list[Attachment] = []
        for number, media in enumerate(post.media, start=len(post.files) + 1):
            if media.kind == "location":
                post.text = f"{post.text}\n📍 {media.file_ref}".strip()
                continue
            try:  # a URL that is not public is refused (PermanentFailure) before connecting
                downloaded = client.download(media.file_ref)
            except PermanentFailure as gone:
                post.text = f"{post.text}\n[{media.kind} not available: {gone}]".strip()
                continue
            name = media.name or downloaded.name or f"{media.kind}-{number}"
            content_type = media.content_type or downloaded.content_type
            key = f"attachments/{ticket_id}/{post_id}/{number}/{name}"
            self.blobs.put(key, downloaded.content, content_type)
            file_id = post_id * FILES_PER_MESSAGE + number
            fetched.append(Attachment(id=file_id, name=name, content_type=content_type,
                                      link=f"/api/v2/tickets/{ticket_id}/files/{file_id}",
                                      size=len(downloaded.content), key=key))
        post.files, post.media = [*post.files, *fetched], []
        repository.tickets.replace_message("post", post)
        return fetched

    def _client(self, channel: Channel) -> ProviderClient:
        return self.make_client(channel, self.helpdesk.channels.secrets_of(channel.id),
                                self.helpdesk.webhook_allow)

    def _remember(self, channel: Channel, provider_id: str, ticket_id: int,
                  post_id: int) -> None:
        """So the provider's delivered/read callbacks find the post."""
        self.helpdesk.links.link_channel_message(channel.id, provider_id, ticket_id=ticket_id,
                                                 post_id=post_id, direction="outbound")

    def _record(self, post: Message, delivery: Delivery) -> Delivery:
        """Sets and saves the post's delivery (the post object follows along)."""
        post.delivery = delivery.model_copy(update={"updated": self.helpdesk.clock()})
        self.helpdesk.repository.tickets.replace_message("post", post)
        return post.delivery
