"""The one place that builds DynamoDB keys for the single table.

Base table: PK / SK (strings). Overloaded sparse GSIs, each keyed <NAME>PK / <NAME>SK:

- GSI1: tickets by status        TSTATUS#<status>   -> <updated>#<id>
        users by kind            USERS#<kind>       -> <name>#<id>
        organizations            ORGS               -> <name>#<id>
- GSI2: tickets by department    TDEPT#<department> -> <updated>#<id>
        users by organization    ORGUSERS#<org>     -> <name>#<id>
- GSI3: tickets by owner         TOWNER#<owner>     -> <updated>#<id>
- GSI4: tickets by requester     TUSER#<user>       -> <updated>#<id>
- GSI5: every live ticket        TICKETS            -> <updated>#<id>
- GSI6: SLA checks due (sparse)  SLADUE#<shard>     -> <instant>#<id>#<target.stage>#v<n>
        only tickets whose SLA clock runs and has a warning or due time ahead; keys only
- GSI7: queue by last update     QUEUE#<queue>      -> <updated>#<id>                  keys only
- GSI8: queue by SLA due (sparse) QUEUE#<queue>     -> <next due>#<id>                 keys only
        only entries of tickets with a running, unmet SLA target
- GSI9: queue by priority        QUEUE#<queue>      -> <rank>#<updated>#<id>           keys only
        rank = 999999 - priority id (higher ids are more urgent, as in the default list), so
        ascending order is most urgent first, then oldest update

Queue entries (`store/queue_entries.py`; which queues a ticket is in: `helpdesk/queues.py`):

    queue entry    QUEUE#<queue>   <created>#<id>   one per queue a ticket is in (base order:
                                                    creation); GSI7..9 attributes above
    queue counter  QCOUNT#<queue>  COUNT            `n`: how many tickets are in the queue,
                                                    moved by ADD in the ticket's transaction

A queue name is global (`status:open`) or scoped to a department (`status:open@d3`); every
membership is written both ways (agents read their departments' scoped names).

Unique lookups (contact -> user, e-mail -> user) are base-table items written in the same
transaction as the user, because a GSI is eventually consistent and cannot enforce uniqueness.

Markers ("already done" items, read and written only through `store/markers.py`, which
names each kind and its `item_type`; their key formats below never change, stored markers
must stay recognised):

    rules_run          TICKET#<id>            RULESRUN#<version>       rules applied to an event
    sla_escalated      TICKET#<id>            SLAESC#<check>#v<n>      one escalation per check
    notification_sent  NOTIFY#<sha256 of key> SENT                     a staff notice sent
    periodic_slot      PERIODIC               SLOT#<slot>              a periodic pass claimed
    channel_event      CHANEVT#<chan>#<event> CHANEVT                  a provider delivery handled
    ses_message        SESMAIL#<ses id>       SESMAIL                  an SES delivery ingested
    auto_reply         AUTOREPLY#<addr>#<day> AUTOREPLY                an address's daily auto mail

Search token entries (store/search_tokens.py; written by the search_index function from the
table's stream, keys only plus `item_type` "search_token"):

    TOKEN#<kind>#<first 3 chars of token>   <token>#<padded id>
    kind: ticket | user | org. A token shorter than 3 characters is its own partition. An exact
    token is a Query begins_with "<token>#" (newest id first), a prefix a begins_with "<prefix>"
    (token order, then id). Entries are hints: readers verify the document itself.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

TICKET_INDEXES = ("GSI1", "GSI2", "GSI3", "GSI4", "GSI5", "GSI6")
QUEUE_INDEXES = ("GSI7", "GSI8", "GSI9")
ALL_INDEXES = TICKET_INDEXES + QUEUE_INDEXES
TRASH_STATUS = "__trash__"

ID_WIDTH = 12


def pad(number: int) -> str:
    """Zero-padded id, so string order in a sort key equals numeric order."""
    return str(number).zfill(ID_WIDTH)


def stamp(moment: datetime) -> str:
    """UTC instant as a sortable string with microseconds (fixed width)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- tickets -------------------------------------------------------------------------------
def ticket(ticket_id: int) -> tuple[str, str]:
    return f"TICKET#{pad(ticket_id)}", "TICKET"


def ticket_pk(ticket_id: int) -> str:
    return f"TICKET#{pad(ticket_id)}"


def ticket_search(ticket_id: int) -> tuple[str, str]:
    """The ticket's search text, apart from the ticket item: it grows with the conversation
    (up to changes.SEARCH_TEXT_LIMIT) and would otherwise ride along every read and write of
    the ticket, its stream records and its five index copies."""
    return ticket_pk(ticket_id), "SEARCH"


def post_sk(post_id: int) -> str:
    return f"POST#{pad(post_id)}"


def comment_sk(comment_id: int) -> str:
    return f"COMMENT#{pad(comment_id)}"


def event_sk(version: int) -> str:
    """Ticket events are numbered by the ticket version they produced: unique and ordered."""
    return f"EVENT#{pad(version)}"


POST_PREFIX = "POST#"
COMMENT_PREFIX = "COMMENT#"
EVENT_PREFIX = "EVENT#"


def ticket_order(updated: datetime, ticket_id: int) -> str:
    return f"{stamp(updated)}#{pad(ticket_id)}"


def ticket_index_keys(
    *,
    ticket_id: int,
    updated: datetime,
    status_id: str,
    department_id: int | None,
    owner_id: int | None,
    user_id: int | None,
    trashed: bool,
    sla_check: tuple[datetime, str, int] | None = None,
) -> dict[str, str]:
    """GSI attributes of a ticket item. A trashed ticket is only findable in the trash.
    `sla_check`: (instant, "<target>.<stage>", SLA version) of the next SLA check."""
    order = ticket_order(updated, ticket_id)
    if trashed:
        return {"GSI1PK": f"TSTATUS#{TRASH_STATUS}", "GSI1SK": order}
    keys = sla_due_keys(ticket_id, *sla_check) if sla_check else {}
    keys |= {"GSI1PK": f"TSTATUS#{status_id}", "GSI1SK": order,
             "GSI5PK": "TICKETS", "GSI5SK": order}
    if department_id is not None:
        keys |= {"GSI2PK": f"TDEPT#{department_id}", "GSI2SK": order}
    if owner_id is not None:
        keys |= {"GSI3PK": f"TOWNER#{owner_id}", "GSI3SK": order}
    if user_id is not None:
        keys |= {"GSI4PK": f"TUSER#{user_id}", "GSI4SK": order}
    return keys


# --- queues (entries and counters) -----------------------------------------------------------
QUEUE_SORTS = {"created": None, "updated": "GSI7", "sla_due": "GSI8", "priority": "GSI9"}
PRIORITY_RANKS = 999999


def queue_pk(queue: str) -> str:
    return f"QUEUE#{queue}"


def queue_entry(queue: str, created: datetime, ticket_id: int) -> tuple[str, str]:
    """A ticket's entry in a queue; the base sort key is its creation order."""
    return queue_pk(queue), f"{stamp(created)}#{pad(ticket_id)}"


def priority_rank(priority_id: int | None) -> str:
    return str(PRIORITY_RANKS - (priority_id or 0)).zfill(6)


def queue_entry_sorts(*, ticket_id: int, created: datetime, updated: datetime,
                      priority_id: int | None, sla_due: datetime | None) -> dict[str, str]:
    """Sort attributes of a queue entry: the base SK and GSI7..9 (GSI8 only with a due)."""
    order = ticket_order(updated, ticket_id)
    sorts = {"SK": f"{stamp(created)}#{pad(ticket_id)}", "GSI7SK": order,
             "GSI9SK": f"{priority_rank(priority_id)}#{order}"}
    if sla_due is not None:
        sorts["GSI8SK"] = f"{stamp(sla_due)}#{pad(ticket_id)}"
    return sorts


def queue_sort_attribute(sort: str) -> str:
    """The attribute a queue is ordered by for `sort` (SK for creation)."""
    index = QUEUE_SORTS[sort]
    return "SK" if index is None else f"{index}SK"


def ticket_id_of_queue_sort(value: str) -> int:
    """Every queue sort value ends with the padded ticket id."""
    return int(value.rsplit("#", 1)[-1])


def queue_counter(queue: str) -> tuple[str, str]:
    return f"QCOUNT#{queue}", "COUNT"


# --- SLA -------------------------------------------------------------------------------------
SLA_SHARDS = 8  # spreads the due index over partitions; the scheduler reads each one
CALENDARS_PK = "CALENDARS"
SLA_POLICIES_PK = "SLAPOLICIES"


def sla_due_keys(ticket_id: int, due: datetime, check: str, version: int) -> dict[str, str]:
    """The ticket's next SLA check in the due index. Everything the scheduler needs is in the
    sort key, so the index projects keys only."""
    return {"GSI6PK": f"SLADUE#{ticket_id % SLA_SHARDS}",
            "GSI6SK": f"{stamp(due)}#{pad(ticket_id)}#{check}#v{version}"}


def sla_due_shard(shard: int) -> tuple[str, str]:
    return "GSI6", f"SLADUE#{shard}"


def parse_sla_due(sort_key: str) -> tuple[str, int, str, int]:
    """(instant stamp, ticket id, "<target>.<stage>", SLA version) of a due-index key."""
    due, ticket_id, check, version = sort_key.split("#")
    return due, int(ticket_id), check, int(version.removeprefix("v"))


def all_calendars() -> tuple[None, str]:
    return None, CALENDARS_PK


def all_sla_policies() -> tuple[None, str]:
    return None, SLA_POLICIES_PK


def calendar(calendar_id: int) -> tuple[str, str]:
    return CALENDARS_PK, f"CALENDAR#{pad(calendar_id)}"


def sla_policy(policy_id: int) -> tuple[str, str]:
    return SLA_POLICIES_PK, f"POLICY#{pad(policy_id)}"


def sla_escalated(ticket_id: int, check: str, version: int) -> tuple[str, str]:
    """One escalation per ticket, check and SLA version (a repeated run does nothing)."""
    return ticket_pk(ticket_id), f"SLAESC#{check}#v{pad(version)}"


def tickets_by_status(status_id: str) -> tuple[str, str]:
    return "GSI1", f"TSTATUS#{status_id}"


def tickets_in_trash() -> tuple[str, str]:
    return "GSI1", f"TSTATUS#{TRASH_STATUS}"


def tickets_by_department(department_id: int) -> tuple[str, str]:
    return "GSI2", f"TDEPT#{department_id}"


def tickets_by_owner(owner_id: int) -> tuple[str, str]:
    return "GSI3", f"TOWNER#{owner_id}"


def tickets_by_requester(user_id: int) -> tuple[str, str]:
    return "GSI4", f"TUSER#{user_id}"


def all_tickets() -> tuple[str, str]:
    return "GSI5", "TICKETS"


# --- users and contacts --------------------------------------------------------------------
def user(user_id: int) -> tuple[str, str]:
    return f"USER#{pad(user_id)}", "USER"


def _by_name(name: str, entity_id: int) -> str:
    return f"{name.casefold()[:64]}#{pad(entity_id)}"


def user_index_keys(kind: str, name: str, user_id: int,
                    organization_id: int | None) -> dict[str, str]:
    keys = {"GSI1PK": f"USERS#{kind}", "GSI1SK": _by_name(name, user_id)}
    if organization_id is not None:
        keys |= {"GSI2PK": f"ORGUSERS#{organization_id}", "GSI2SK": _by_name(name, user_id)}
    return keys


def users_of_organization(organization_id: int) -> tuple[str, str]:
    return "GSI2", f"ORGUSERS#{organization_id}"


# --- organizations ---------------------------------------------------------------------------
def organization(organization_id: int) -> tuple[str, str]:
    return f"ORG#{pad(organization_id)}", "ORG"


def organization_index_keys(name: str, organization_id: int) -> dict[str, str]:
    return {"GSI1PK": "ORGS", "GSI1SK": _by_name(name, organization_id)}


def all_organizations() -> tuple[str, str]:
    return "GSI1", "ORGS"


def organization_domain(domain: str) -> tuple[str, str]:
    """Unique item: a mail domain belongs to at most one organization."""
    return f"ORGDOMAIN#{domain}", "ORGDOMAIN"


def users_by_kind(kind: str) -> tuple[str, str]:
    return "GSI1", f"USERS#{kind}"


def contact(kind: str, value: str) -> tuple[str, str]:
    """Unique item: one contact (e-mail, phone, messenger id) belongs to one user."""
    return f"CONTACT#{kind}#{value}", "CONTACT"


# --- dictionaries, counters, limits ----------------------------------------------------------
def dictionary_pk(kind: str) -> str:
    return f"DICT#{kind}"


def dictionary_entry(kind: str, entry_id: int | str) -> tuple[str, str]:
    key = pad(entry_id) if isinstance(entry_id, int) else str(entry_id)
    return dictionary_pk(kind), key


def counter(name: str) -> tuple[str, str]:
    return "COUNTER", name


def rate_limit(principal: str) -> tuple[str, str]:
    return f"RATE#{principal}", "RATE"


# --- mail --------------------------------------------------------------------------------------
def _message_id_key(message_id: str) -> str:
    """Message-IDs can be long; keys stay short and exact through a digest when needed."""
    if len(message_id) <= 400:
        return message_id
    return "sha256:" + hashlib.sha256(message_id.encode()).hexdigest()


def mail_message(message_id: str) -> tuple[str, str]:
    """Unique item: a Message-ID we received or sent -> its ticket and post (threading and
    idempotency: the same mail delivered again finds its post)."""
    return f"MAIL#{_message_id_key(message_id)}", "MAIL"


def ses_message(ses_message_id: str) -> tuple[str, str]:
    """Unique item: an SES delivery we ingested (idempotency on SES's own id)."""
    return f"SESMAIL#{ses_message_id}", "SESMAIL"


def bouncing_address(address: str) -> tuple[str, str]:
    return f"BOUNCE#{address}", "BOUNCE"


def auto_reply(address: str, day: str) -> tuple[str, str]:
    """Unique item: the one automatic mail an address may get per day (loop brake)."""
    return f"AUTOREPLY#{address}#{day}", "AUTOREPLY"


# --- messenger, web and phone channels -------------------------------------------------------
def channel(channel_id: int) -> tuple[str, str]:
    return f"CHANNEL#{pad(channel_id)}", "CHANNEL"


def channel_index_keys(channel_id: int) -> dict[str, str]:
    return {"GSI1PK": "CHANNELS", "GSI1SK": pad(channel_id)}


def all_channels() -> tuple[str, str]:
    return "GSI1", "CHANNELS"


def channel_secret_name(channel_id: int) -> str:
    """Name of the channel's credentials in the secret store (not a table key)."""
    return f"channels/{channel_id}"


def channel_event(channel_id: int, event_id: str) -> tuple[str, str]:
    """Unique item: a provider's delivery we handled (replays and retries are no-ops)."""
    return f"CHANEVT#{channel_id}#{event_id}", "CHANEVT"


def conversation(channel_id: int, conversation_key: str) -> tuple[str, str]:
    """A chat on a channel -> its current ticket. Written with the ticket, so two first
    messages racing make one ticket."""
    return f"CONV#{channel_id}#{conversation_key}", "CONV"


def channel_message(channel_id: int, provider_message_id: str) -> tuple[str, str]:
    """A provider's message id -> our post (edits, deletions, delivery statuses)."""
    return f"CHANMSG#{channel_id}#{provider_message_id}", "CHANMSG"


def chat_session(session_key: str) -> tuple[str, str]:
    """A web-chat visitor session (by digest of its token) -> the visitor; TTL-expired."""
    return f"CHATSESSION#{session_key}", "CHATSESSION"


def call(channel_id: int, call_id: str) -> tuple[str, str]:
    """A PBX call's timeline (started/answered/ended), keyed by the PBX's call id."""
    return f"CALL#{channel_id}#{call_id}", "CALL"


# --- outbound webhook subscriptions ----------------------------------------------------------
def subscription(subscription_id: int) -> tuple[str, str]:
    return f"WEBHOOK#{pad(subscription_id)}", "WEBHOOK"


def subscription_index_keys(subscription_id: int) -> dict[str, str]:
    return {"GSI1PK": "WEBHOOKS", "GSI1SK": pad(subscription_id)}


def all_subscriptions() -> tuple[str, str]:
    return "GSI1", "WEBHOOKS"


def subscription_secret_name(subscription_id: int) -> str:
    """Name of the subscription's signing secret in the secret store (not a table key)."""
    return f"webhooks/{subscription_id}"


def subscription_breaker(subscription_id: int) -> tuple[str, str]:
    """The endpoint's circuit-breaker state, apart from the admin-edited item."""
    return f"WEBHOOK#{pad(subscription_id)}", "BREAKER"


def dead_letter(subscription_id: int, delivery_id: str) -> tuple[str, str]:
    """A delivery that failed for good; one per delivery id (recording twice is harmless)."""
    return f"WEBHOOK#{pad(subscription_id)}", f"DEAD#{delivery_id}"


def dead_letters(subscription_id: int) -> tuple[str, str]:
    """Partition and sort-key prefix of a subscription's dead letters."""
    return f"WEBHOOK#{pad(subscription_id)}", "DEAD#"


# --- automation rules and templates (few items each: one partition, read whole) ------------
RULES_PK = "RULES"
TEMPLATES_PK = "TEMPLATES"


def all_rules() -> tuple[None, str]:
    return None, RULES_PK


def all_templates() -> tuple[None, str]:
    return None, TEMPLATES_PK


def rule(rule_id: int) -> tuple[str, str]:
    return RULES_PK, f"RULE#{pad(rule_id)}"


def template(template_id: int) -> tuple[str, str]:
    return TEMPLATES_PK, f"TEMPLATE#{pad(template_id)}"


def rules_run(ticket_id: int, version: int) -> tuple[str, str]:
    """Rules already applied for this event: a second run of its workflow changes nothing."""
    return ticket_pk(ticket_id), f"RULESRUN#{pad(version)}"


def periodic_slot(slot: str) -> tuple[str, str]:
    """One periodic pass per 30-minute slot, whoever triggers it."""
    return "PERIODIC", f"SLOT#{slot}"


def periodic_marks(rule_id: int) -> str:
    """Partition of a periodic rule's marks: the tickets it fired on (fires once per ticket
    until its condition stops holding). Read whole each pass: it follows the firings."""
    return f"PERIODIC#{pad(rule_id)}"


def periodic_mark(rule_id: int, ticket_id: int) -> tuple[str, str]:
    return periodic_marks(rule_id), f"TICKET#{pad(ticket_id)}"


def round_robin_counter(department_id: int | None) -> str:
    """Name of the counter (see `counter`) that takes turns among a department's agents."""
    return f"round_robin_{department_id or 0}"


def notification_sent(key: str) -> tuple[str, str]:
    """A staff notification already sent (keys are long: hashed)."""
    return "NOTIFY#" + hashlib.sha256(key.encode()).hexdigest()[:32], "SENT"


# --- search tokens ---------------------------------------------------------------------------
TOKEN_KINDS = ("ticket", "user", "org")
TOKEN_PARTITION_CHARS = 3


def token_partition(kind: str, token: str) -> str:
    """The partition of a token's (or a prefix's) entries: the first 3 characters."""
    return f"TOKEN#{kind}#{token[:TOKEN_PARTITION_CHARS]}"


def token_entry(kind: str, token: str, document_id: int) -> tuple[str, str]:
    return token_partition(kind, token), f"{token}#{pad(document_id)}"
