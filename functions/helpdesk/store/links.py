"""Links from the outside world to our tickets: a mail's Message-ID (threading, duplicates,
loops), a messenger conversation and a provider's message id (replies, edits, delivery
news), a web-chat visitor's session, a PBX call's timeline, and addresses whose mail bounces.
One item each, keyed in keys.py; the features read and write them only through here."""

from __future__ import annotations

from typing import Any

from helpdesk.store import keys
from helpdesk.store.table import Condition, ConditionFailed, Item, Put, Table


class Links:
    def __init__(self, table: Table) -> None:
        self._table = table

    # --- mail ------------------------------------------------------------------------------
    def mail_message(self, message_id: str) -> Item | None:
        """The ticket (and post) a Message-ID we received or sent belongs to."""
        return self._table.get(*keys.mail_message(message_id))

    def link_mail_message(self, message_id: str, ticket_id: int, *, direction: str,
                          post_id: int | None = None) -> None:
        """Last writer wins: a mail sent again under its id points to the same post."""
        pk, sk = keys.mail_message(message_id)
        item: Item = {"PK": pk, "SK": sk, "item_type": "mail_message", "ticket_id": ticket_id,
                      "direction": direction}
        if post_id is not None:
            item["post_id"] = post_id
        self._table.put(item)

    def new_mail_link(self, message_id: str, ticket_id: int, post_id: int) -> Put:
        """The link of a mail we received, for the transaction that stores its post: only
        if absent, so a concurrent copy of the same mail cannot be stored twice."""
        pk, sk = keys.mail_message(message_id)
        return Put({"PK": pk, "SK": sk, "item_type": "mail_message", "ticket_id": ticket_id,
                    "post_id": post_id, "direction": "inbound"}, Condition.item_absent())

    def bouncing(self, address: str) -> Item | None:
        """The last delivery failure of an address still bouncing (status, action, ...)."""
        return self._table.get(*keys.bouncing_address(address))

    def mark_bouncing(self, address: str, **failure: Any) -> None:
        pk, sk = keys.bouncing_address(address)
        self._table.put({"PK": pk, "SK": sk, "item_type": "bounce", **failure})

    def clear_bouncing(self, address: str) -> None:
        self._table.delete(*keys.bouncing_address(address))

    # --- messengers and chat ---------------------------------------------------------------
    def conversation(self, channel_id: int, chat: str) -> Item | None:
        """A chat's current ticket (written with the ticket, see channels/ingest.py)."""
        return self._table.get(*keys.conversation(channel_id, chat))

    def conversation_link(self, channel_id: int, chat: str, ticket_id: int,
                          linked: int | None) -> Put:
        """Points a chat at a new ticket, in the transaction that opens it, if the link is
        still what made us open one: absent for the chat's first ticket (`linked` None), the
        closed ticket's id for a later one. A racing message that linked its own new ticket
        meanwhile fails this, and joins that ticket on its next attempt."""
        pk, sk = keys.conversation(channel_id, chat)
        condition = (Condition.item_absent() if linked is None
                     else Condition.attrs_equal(ticket_id=linked))
        return Put({"PK": pk, "SK": sk, "item_type": "conversation", "ticket_id": ticket_id},
                   condition)

    def channel_message(self, channel_id: int, provider_message_id: str) -> Item | None:
        return self._table.get(*keys.channel_message(channel_id, provider_message_id))

    def link_channel_message(self, channel_id: int, provider_message_id: str, *,
                             ticket_id: int, post_id: int, direction: str) -> None:
        put = self.channel_message_link(channel_id, provider_message_id, ticket_id=ticket_id,
                                        post_id=post_id, direction=direction)
        self._table.put(put.item, put.condition)

    def channel_message_link(self, channel_id: int, provider_message_id: str, *,
                             ticket_id: int, post_id: int, direction: str) -> Put:
        """A provider's message id -> our post (for a transaction); last writer wins."""
        pk, sk = keys.channel_message(channel_id, provider_message_id)
        return Put({"PK": pk, "SK": sk, "item_type": "channel_message",
                    "direction": direction, "ticket_id": ticket_id, "post_id": post_id})

    def chat_session(self, session: str) -> Item | None:
        return self._table.get(*keys.chat_session(session))

    def open_chat_session(self, session: str, *, customer_id: int, channel_id: int,
                          expires_at: int) -> None:
        """Only a new session (raises ConditionFailed if the key was taken)."""
        pk, sk = keys.chat_session(session)
        self._table.put({"PK": pk, "SK": sk, "item_type": "chat_session",
                         "customer_id": customer_id, "channel_id": channel_id,
                         "expires_at": expires_at}, Condition.item_absent())

    # --- calls -----------------------------------------------------------------------------
    def call(self, channel_id: int, call_id: str) -> Item | None:
        """A call's timeline as stored (its `revision` counts the writes)."""
        item = self._table.get(*keys.call(channel_id, call_id))
        return None if item is None else _without_keys(item)

    def save_call(self, channel_id: int, call_id: str, state: Item,
                  read: Item | None) -> bool:
        """Writes the timeline if it is still as `read` (None: not there yet); False when
        another event of the call was recorded meanwhile (read again and redo)."""
        pk, sk = keys.call(channel_id, call_id)
        condition = (Condition.item_absent() if read is None
                     else Condition.item_exists() if "revision" not in read  # older items
                     else Condition.attrs_equal(revision=read["revision"]))
        try:
            self._table.put({**_without_keys(state), "PK": pk, "SK": sk, "item_type": "call"},
                            condition)
        except ConditionFailed:
            return False
        return True


def _without_keys(item: Item) -> Item:
    return {name: value for name, value in item.items() if name not in ("PK", "SK")}
