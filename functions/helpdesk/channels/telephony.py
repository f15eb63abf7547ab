"""PBX call events (`POST /telephony/calls/@{channel_key}/`): started, answered, finished,
keyed by `call_id`. A finished call becomes a call entry on the caller's ticket; a missed
incoming call opens (or joins) a "missed call" ticket to call back. The caller is matched
by E.164 phone, so he is the same customer who writes by mail or messenger."""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from helpdesk.channels.events import ChannelMessage, ChannelSecrets, Sender
from helpdesk.channels.ingest import ChannelIngest, ChannelLinks, ChannelOutcome, IngestDesk
from helpdesk.channels.model import Channel
from helpdesk.errors import Conflict, Forbidden, InvalidInput, NotFound
from helpdesk.phones import to_e164
from helpdesk.ratelimit import RateLimiter
from helpdesk.store.table import Item

ATTEMPTS = 3
# A PBX sends start/answer/end for every call from one address: 600 events a minute is a
# busy call centre. Guessing channel keys is limited much harder (as wrong API keys are).
EVENTS_PER_MINUTE = 600
WRONG_KEYS_PER_MINUTE = 10
STARTED = {"start", "started", "call_start", "ringing", "incoming", "outgoing"}
ANSWERED = {"answer", "answered", "call_answer", "connected"}
FINISHED = {"end", "ended", "finish", "finished", "call_end", "hangup", "completed"}
MISSED = {"missed", "no_answer", "noanswer", "busy", "cancel", "cancelled", "failed",
          "not_answered"}


class CallEvent(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    action: str = Field(min_length=1, max_length=40)
    call_id: str = Field(min_length=1, max_length=200)
    direction: str = Field(default="in", pattern="^(in|out)$")
    phone: str = Field(min_length=1, max_length=40)
    call_status: str | None = Field(default=None, max_length=40)
    pbx_call_id: str | None = Field(default=None, max_length=200)
    pbx_user_id: str | None = Field(default=None, max_length=100)
    user_id: int | None = Field(default=None, gt=0)
    user_ids: list[int] = Field(default_factory=list, max_length=50)
    group_ids: list[int] = Field(default_factory=list, max_length=50)
    audio_record: str | None = Field(default=None, max_length=2000)
    comment: str | None = Field(default=None, max_length=5000)
    duration: int | None = Field(default=None, ge=0, le=86400)


class CallLinks(ChannelLinks, Protocol):
    def call(self, channel_id: int, call_id: str) -> Item | None: ...

    def save_call(self, channel_id: int, call_id: str, state: Item,
                  read: Item | None) -> bool: ...


class PhoneChannels(Protocol):
    def active(self, channel_type: str, channel_id: int) -> Channel: ...

    def secrets_of(self, channel_id: int) -> ChannelSecrets: ...


class TelephonyDesk(IngestDesk, Protocol):
    """What call events need of the helpdesk: the ingest's collaborators, each call's
    timeline, and the phone channels with their keys."""

    @property
    def links(self) -> CallLinks: ...

    @property
    def channels(self) -> PhoneChannels: ...


class Telephony:
    def __init__(self, helpdesk: TelephonyDesk, per_minute: int = EVENTS_PER_MINUTE,
                 wrong_keys_per_minute: int = WRONG_KEYS_PER_MINUTE) -> None:
        self.helpdesk = helpdesk
        rates, clock = helpdesk.repository.rates, helpdesk.clock
        self._events = RateLimiter(rates, clock, per_minute, block_seconds=60)
        self._wrong_keys = RateLimiter(rates, clock, wrong_keys_per_minute, block_seconds=300)

    def handle(self, channel_key: str, event: CallEvent, ip: str = "unknown") -> ChannelOutcome:
        """Rate-limited per source IP; a wrong channel key counts harder (429 past the
        limit), so keys cannot be guessed, while the PBX holding the right key goes on."""
        self._events.hit(f"pbx-ip:{ip}")
        try:
            channel = self._channel(channel_key)
        except (NotFound, Forbidden):
            self._wrong_keys.hit(f"pbx-key-ip:{ip}")
            raise
        action = event.action.lower()
        if action not in STARTED | ANSWERED | FINISHED:
            raise InvalidInput(f"unknown action {event.action!r}; use start, answer or end",
                               field="action")
        phone = to_e164(event.phone)
        if phone is None:
            raise InvalidInput(f"{event.phone!r} is not a phone number", field="phone")
        state = self._remember(channel.id, event, action)
        if action not in FINISHED:
            return ChannelOutcome(f"call:{event.call_id}:{action}", "recorded",
                                  details=f"call {event.call_id} {action}")
        answered = "answered_at" in state and (event.call_status or "").lower() not in MISSED
        missed = not answered and event.direction == "in"
        summary = self._summary(event, phone, state, answered)
        message = ChannelMessage(
            event_id=f"call:{event.call_id}", provider_message_id="",
            conversation=f"missed:{phone}" if missed else phone, text=summary,
            sender=Sender(external_id=phone, phone=phone, name=phone),
            extra={"title": f"Missed call from {phone}" if missed else f"Call with {phone}"})
        (outcome,) = ChannelIngest.of(self.helpdesk).receive(channel, (message,))
        return outcome

    def _channel(self, channel_key: str) -> Channel:
        channel_id, _, secret = channel_key.removeprefix("@").partition("-")
        if not channel_id.isdigit() or not secret:
            raise NotFound("unknown telephony channel key")
        try:
            channel = self.helpdesk.channels.active("phone", int(channel_id))
        except NotFound:
            raise NotFound("unknown telephony channel key") from None
        expected = self.helpdesk.channels.secrets_of(channel.id).webhook_secret
        if not expected or not hmac.compare_digest(secret.encode(), expected.encode()):
            raise Forbidden("the telephony channel key does not match")
        return channel

    def _remember(self, channel_id: int, event: CallEvent, action: str) -> dict[str, Any]:
        """The call's timeline (an event repeated by the PBX changes nothing). Events of one
        call may arrive at once (answer and end): each write is conditional on the revision
        it read, so neither stamp is lost."""
        stamp = ("answered_at" if action in ANSWERED else
                 "ended_at" if action in FINISHED else "started_at")
        for _ in range(ATTEMPTS):
            stored = self.helpdesk.links.call(channel_id, event.call_id)
            state = dict(stored or {"item_type": "call"})
            if stamp in state:
                return state
            state[stamp] = self.helpdesk.clock().isoformat()
            state["status"] = event.call_status or state.get("status", "")
            state["expires_at"] = int(self.helpdesk.clock().timestamp()) + 90 * 86400
            state["revision"] = int(state.get("revision", 0)) + 1
            if self.helpdesk.links.save_call(channel_id, event.call_id, state, stored):
                return state
            # another event of this call was recorded meanwhile: read again
        raise Conflict(f"call {event.call_id} is being recorded by another request; retry")

    def _summary(self, event: CallEvent, phone: str, state: dict[str, Any],
                 answered: bool) -> str:
        way = "Incoming" if event.direction == "in" else "Outgoing"
        if not answered:
            lines = [f"{way} call from {phone} was not answered"
                     + (f" ({event.call_status})" if event.call_status else "") + "."]
        else:
            seconds = event.duration if event.duration is not None else _seconds(state)
            lines = [f"{way} call with {phone}, {seconds // 60}:{seconds % 60:02d}."]
        agent_id = event.user_id or (event.user_ids[0] if event.user_ids else None)
        agent = self.helpdesk.repository.people.get_user(agent_id) if agent_id else None
        if agent is not None:
            lines.append(f"Agent: {agent.name}.")
        if event.audio_record:
            lines.append(f"Recording: {event.audio_record}")
        if event.comment:
            lines.append(event.comment)
        lines.append(f"Call id: {event.call_id}")
        return "\n".join(lines)


def _seconds(state: dict[str, Any]) -> int:
    if "answered_at" not in state or "ended_at" not in state:
        return 0
    start = datetime.fromisoformat(state["answered_at"])
    end = datetime.fromisoformat(state["ended_at"])
    return max(0, int((end - start).total_seconds()))
