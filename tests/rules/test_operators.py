"""Every condition operator on every kind of field, through the real rule runner: a rule
with one condition tags the ticket `hit`; each row shows a ticket it fires on (tag and audit
line) and one it leaves alone (no tag, no audit line).

What the engine does, as asserted here: texts compare casefolded with ё read as е (both
ways, any case); `contains` on a text is a substring test, on a list (tags, domains) an
exact, case-insensitive test per item; `is`/`in` compare whole values (on a list: any item);
an unset value (None, "", [], missing) is not equal to, does not contain, and is neither
greater nor less than anything, so every negative operator (`is_not`, `not_in`,
`not_contains`, `not_set`) holds on it; numbers compare as numbers even when stored as text;
a flag (true/false) is not a number: it equals true/false or their text, never 1 or 0;
`regex` searches the text ignoring case; dates compare only as `hours_since_*` (a plain date
value is refused when the rule is saved).
"""

from __future__ import annotations

from itertools import count
from typing import Any

import pytest
from pydantic import ValidationError

from helpdesk.inputs import MessageCreate, OrganizationCreate, TicketCreate, UserCreate
from helpdesk.rules.model import Condition

RULE = "Operator under test"
HIT_LINE = f"rule {RULE!r} fired: tags + hit"
_serial = count(1)


def open_ticket(desk: Any, clock: Any, spec: dict[str, Any]) -> Any:
    """A ticket as `spec` describes it (ticket fields, plus `customer`/`organization`
    attributes and `age_hours`: how long before the rules see it), its events run."""
    spec = dict(spec)
    customer = spec.pop("customer", None)
    organization = spec.pop("organization", None)
    age_hours = spec.pop("age_hours", 0)
    serial = next(_serial)
    domain = f"client{serial}.example.com"
    if organization is not None:
        organization = {"name": f"Org {serial}", **organization}
        domain = organization.setdefault("domains", [domain])[0]
        desk.helpdesk.organizations.create(desk.admin, OrganizationCreate(**organization))
    email = f"client{serial}@{domain}"
    if customer is not None:
        desk.helpdesk.users.create(desk.admin, UserCreate(
            **{"name": f"Client {serial}", "email": email, **customer}))
    ticket = desk.helpdesk.tickets.create(desk.admin, TicketCreate(
        title=spec.pop("title", "Ticket"), description=spec.pop("text", None),
        user_email=email, **spec))
    clock.advance(hours=age_hours)
    desk.settle(ticket.id)
    return desk.helpdesk.repository.tickets.get_ticket(ticket.id)


def case(name: str, condition: dict[str, Any], match: dict[str, Any],
         miss: dict[str, Any]) -> Any:
    return pytest.param(condition, match, miss, id=name)


def cf(**fields: Any) -> dict[str, Any]:
    return {"custom_fields": fields}


TEXT = [
    case("contains/ignores-case-ru", {"field": "subject", "op": "contains", "value": "оплата"},
         {"title": "ОПЛАТА заказа"}, {"title": "Доставка заказа"}),
    case("contains/ignores-case-en", {"field": "subject", "op": "contains", "value": "INVOICE"},
         {"title": "Where is my invoice?"}, {"title": "Where is my parcel?"}),
    case("contains/yo-in-rule-e-in-text",
         {"field": "subject", "op": "contains", "value": "счёт"},
         {"title": "Пришлите СЧЕТ"}, {"title": "Пришлите акт"}),
    case("contains/e-in-rule-yo-in-text",
         {"field": "subject", "op": "contains", "value": "счет"},
         {"title": "Пришлите Счёт"}, {"title": "Пришлите акт"}),
    case("contains/capital-yo", {"field": "subject", "op": "contains", "value": "ёлка"},
         {"title": "ЁЛКА не горит"}, {"title": "ИЛКА"}),
    case("contains/capital-e-matches-yo", {"field": "subject", "op": "contains",
                                           "value": "ЕЛКА"},
         {"title": "ёлка не горит"}, {"title": "палка"}),
    case("contains/any-of-list", {"field": "text", "op": "contains",
                                  "value": ["invoice", "оплата"]},
         {"title": "Hi", "text": "Где оплата?"}, {"title": "Hi", "text": "Где посылка?"}),
    case("contains/body-not-subject", {"field": "body", "op": "contains", "value": "срочно"},
         {"title": "x", "text": "Срочно!"}, {"title": "Срочно", "text": "подождёт"}),
    case("not_contains/ignores-case", {"field": "subject", "op": "not_contains",
                                       "value": "тест"},
         {"title": "Боевой заказ"}, {"title": "ТЕСТОВЫЙ заказ"}),
    case("not_contains/yo", {"field": "subject", "op": "not_contains", "value": "счёт"},
         {"title": "Пришлите акт"}, {"title": "Пришлите счет"}),
    case("not_contains/none-of-list", {"field": "text", "op": "not_contains",
                                       "value": ["unsubscribe", "отписаться"]},
         {"title": "Hi", "text": "Помогите"}, {"title": "Hi", "text": "Как ОТПИСАТЬСЯ?"}),
    case("is/whole-text-any-case", {"field": "subject", "op": "is", "value": "Привет"},
         {"title": "ПРИВЕТ"}, {"title": "Привет всем"}),
    case("is/yo", {"field": "subject", "op": "is", "value": "Алёна"},
         {"title": "АЛЕНА"}, {"title": "Алина"}),
    case("is_not/text", {"field": "subject", "op": "is_not", "value": "Привет"},
         {"title": "Пока"}, {"title": "привет"}),
    case("in/text", {"field": "subject", "op": "in", "value": ["Ёлка", "Пальма"]},
         {"title": "елка"}, {"title": "ёлочка"}),
    case("not_in/text", {"field": "subject", "op": "not_in", "value": ["Тест", "Test"]},
         {"title": "Заказ"}, {"title": "TEST"}),
    case("is/channel", {"field": "channel", "op": "is", "value": "email"},
         {"source": "email"}, {"source": "api"}),
    case("in/channel", {"field": "channel", "op": "in", "value": ["telegram", "email"]},
         {"source": "email"}, {"source": "api"}),
    case("is_set/body", {"field": "body", "op": "is_set"}, {"text": "Здравствуйте"}, {}),
    case("not_set/body", {"field": "body", "op": "not_set"}, {}, {"text": "Здравствуйте"}),
]

# Regular expressions search the text (not a full match), ignoring case; a list of patterns
# holds when any of them matches; on a list (tags) the items are read joined by spaces.
REGEX = [
    case("regex/ignores-case", {"field": "subject", "op": "regex", "value": r"^INV-\d{4}$"},
         {"title": "inv-2026"}, {"title": "INV-26"}),
    case("regex/searches-the-body", {"field": "body", "op": "regex",
                                     "value": r"\d{3}-\d{2}-\d{2}"},
         {"title": "x", "text": "Звоните 123-45-67 вечером"},
         {"title": "123-45-67", "text": "Звоните вечером"}),
    case("regex/any-of-list", {"field": "text", "op": "regex",
                               "value": [r"заказ\s*№\s*\d+", r"order #\d+"]},
         {"title": "Hi", "text": "Где ORDER #1234?"}, {"title": "Hi", "text": "Где заказ?"}),
    case("regex/whole-tag-among-tags", {"field": "tags", "op": "regex",
                                        "value": r"(^| )urgent( |$)"},
         {"tags": ["new", "urgent"]}, {"tags": ["new", "urgent-later"]}),
]

NUMBERS = [
    case("is/priority", {"field": "priority_id", "op": "is", "value": 3},
         {"priority_id": 3}, {"priority_id": 2}),
    case("is_not/priority", {"field": "priority_id", "op": "is_not", "value": 3},
         {"priority_id": 2}, {"priority_id": 3}),
    case("in/priority", {"field": "priority_id", "op": "in", "value": [3, 4]},
         {"priority_id": 4}, {"priority_id": 1}),
    case("not_in/priority", {"field": "priority_id", "op": "not_in", "value": [3, 4]},
         {"priority_id": 1}, {"priority_id": 3}),
    case("gt/priority", {"field": "priority_id", "op": "gt", "value": 2},
         {"priority_id": 3}, {"priority_id": 2}),
    case("gt/boundary", {"field": "custom_fields.amount", "op": "gt", "value": 1000},
         cf(amount=1000.5), cf(amount=1000)),
    case("gte/boundary", {"field": "custom_fields.amount", "op": "gte", "value": 1000},
         cf(amount=1000), cf(amount=999.99)),
    case("lt/boundary", {"field": "custom_fields.amount", "op": "lt", "value": 1000},
         cf(amount=999.5), cf(amount=1000)),
    case("lte/boundary", {"field": "custom_fields.amount", "op": "lte", "value": 1000},
         cf(amount=1000), cf(amount=1000.01)),
    case("lt/negative", {"field": "custom_fields.balance", "op": "lt", "value": 0},
         cf(balance=-1), cf(balance=0)),
    case("gt/number-stored-as-text", {"field": "custom_fields.amount", "op": "gt",
                                      "value": 1000},
         cf(amount="1500"), cf(amount="много")),
    case("lte/number-stored-as-text", {"field": "custom_fields.amount", "op": "lte",
                                       "value": 10},
         cf(amount=" 7 "), cf(amount="11")),
    case("gt/a-flag-is-not-a-number", {"field": "custom_fields.paid", "op": "gt", "value": 0},
         cf(paid=1), cf(paid=True)),
    case("is/number-equals-as-number", {"field": "custom_fields.amount", "op": "is",
                                        "value": 42},
         cf(amount=42.0), cf(amount=42.5)),
    case("is/number-against-text", {"field": "custom_fields.amount", "op": "is", "value": 42},
         cf(amount="42"), cf(amount="042")),
    case("is/a-flag-is-not-the-number-1", {"field": "custom_fields.paid", "op": "is",
                                           "value": 1},
         cf(paid=1), cf(paid=True)),
    case("is/a-flag-equals-its-text", {"field": "custom_fields.paid", "op": "is",
                                       "value": True},
         cf(paid="True"), cf(paid="false")),
]

DATES = [  # hours since the ticket was created, as the rules see it
    case("gt/hours", {"field": "hours_since_created", "op": "gt", "value": 24},
         {"age_hours": 24.5}, {"age_hours": 23.5}),
    case("gte/hours", {"field": "hours_since_created", "op": "gte", "value": 24},
         {"age_hours": 24.5}, {"age_hours": 23.5}),
    case("lt/hours", {"field": "hours_since_created", "op": "lt", "value": 1},
         {"age_hours": 0.5}, {"age_hours": 1.5}),
    case("lte/hours", {"field": "hours_since_created", "op": "lte", "value": 72},
         {"age_hours": 71}, {"age_hours": 73}),
    case("lt/hours-since-status-set", {"field": "hours_since_status_set", "op": "lt",
                                       "value": 2},
         {"age_hours": 1}, {"age_hours": 3}),
]

LISTS = [
    case("contains/tag-any-case", {"field": "tags", "op": "contains", "value": "VIP"},
         {"tags": ["new", "vip"]}, {"tags": ["new"]}),
    case("contains/tag-is-whole-not-substring", {"field": "tags", "op": "contains",
                                                 "value": "bill"},
         {"tags": ["bill"]}, {"tags": ["billing"]}),
    case("contains/tag-yo", {"field": "tags", "op": "contains", "value": "срочнёхонько"},
         {"tags": ["СРОЧНЕХОНЬКО"]}, {"tags": ["срочно"]}),
    case("contains/any-of-tags", {"field": "tags", "op": "contains", "value": ["vip", "gold"]},
         {"tags": ["gold"]}, {"tags": ["silver"]}),
    case("not_contains/tag", {"field": "tags", "op": "not_contains", "value": "vip"},
         {"tags": ["other"]}, {"tags": ["other", "VIP"]}),
    case("is/one-of-the-tags", {"field": "tags", "op": "is", "value": "vip"},
         {"tags": ["a", "vip"]}, {"tags": ["a"]}),
    case("is_not/none-of-the-tags", {"field": "tags", "op": "is_not", "value": "vip"},
         {"tags": ["a"]}, {"tags": ["a", "Vip"]}),
    case("in/any-tag-among-options", {"field": "tags", "op": "in", "value": ["vip", "gold"]},
         {"tags": ["new", "Gold"]}, {"tags": ["new", "silver"]}),
    case("not_in/no-tag-among-options", {"field": "tags", "op": "not_in", "value": ["vip"]},
         {"tags": ["silver"]}, {"tags": ["silver", "vip"]}),
    case("not_in/no-tags-at-all", {"field": "tags", "op": "not_in", "value": ["vip"]},
         {}, {"tags": ["vip"]}),
    case("is_set/tags", {"field": "tags", "op": "is_set"}, {"tags": ["a"]}, {}),
    case("not_set/tags", {"field": "tags", "op": "not_set"}, {}, {"tags": ["a"]}),
    case("contains/organization-domain", {"field": "organization.domains", "op": "contains",
                                          "value": "ACME.RU"},
         {"organization": {"domains": ["acme.ru", "acme.com"]}},
         {"organization": {"domains": ["acme-trade.ru"]}}),
    case("in/organization-domain", {"field": "organization.domains", "op": "in",
                                    "value": ["acme.com", "other.org"]},
         {"organization": {"domains": ["acme.ru", "acme.com"]}},
         {"organization": {"domains": ["beta.ru"]}}),
]

# An unset value (missing custom field, empty text, no organization, no owner): the match
# is the unset one exactly for the negative operators.
UNSET = [
    case("is/unset-is-not-equal", {"field": "custom_fields.plan", "op": "is", "value": "gold"},
         cf(plan="gold"), {}),
    case("is/unset-is-not-the-text-none", {"field": "custom_fields.plan", "op": "is",
                                           "value": "none"},
         cf(plan="None"), {}),
    case("is_not/unset-holds", {"field": "custom_fields.plan", "op": "is_not",
                                "value": "gold"},
         {}, cf(plan="GOLD")),
    case("contains/unset-contains-nothing", {"field": "custom_fields.plan", "op": "contains",
                                             "value": "gold"},
         cf(plan="gold plus"), {}),
    case("contains/unset-contains-no-letter", {"field": "custom_fields.plan",
                                               "op": "contains", "value": "x"},
         cf(plan="x-large"), {}),
    case("not_contains/unset-holds", {"field": "custom_fields.plan", "op": "not_contains",
                                      "value": "gold"},
         {}, cf(plan="Gold plus")),
    case("in/unset-is-in-nothing", {"field": "custom_fields.plan", "op": "in",
                                    "value": ["gold", "silver"]},
         cf(plan="silver"), {}),
    case("not_in/unset-holds", {"field": "custom_fields.plan", "op": "not_in",
                                "value": ["gold", "silver"]},
         {}, cf(plan="silver")),
    case("gt/unset-is-not-greater", {"field": "custom_fields.amount", "op": "gt", "value": -1},
         cf(amount=0), {}),
    case("lt/unset-is-not-less", {"field": "custom_fields.amount", "op": "lt", "value": 1},
         cf(amount=0), {}),
    case("lte/unset-is-not-less", {"field": "custom_fields.amount", "op": "lte", "value": 0},
         cf(amount=0), {}),
    case("is_set/custom-field", {"field": "custom_fields.plan", "op": "is_set"},
         cf(plan="gold"), {}),
    case("is_set/empty-text-is-unset", {"field": "custom_fields.plan", "op": "is_set"},
         cf(plan="gold"), cf(plan="")),
    case("is_set/zero-is-set", {"field": "custom_fields.amount", "op": "is_set"},
         cf(amount=0), cf(amount=None)),
    case("not_set/custom-field", {"field": "custom_fields.plan", "op": "not_set"},
         {}, cf(plan="gold")),
    case("is/owner-null", {"field": "owner_id", "op": "is", "value": None},
         {}, {"owner_id": 1}),
    case("is_not/owner-null", {"field": "owner_id", "op": "is_not", "value": None},
         {"owner_id": 1}, {}),
    case("is_not/no-organization-holds", {"field": "organization.name", "op": "is_not",
                                          "value": "ООО Ромашка"},
         {}, {"organization": {"name": "ооо ромашка"}}),
    case("not_set/no-organization", {"field": "organization.id", "op": "not_set"},
         {}, {"organization": {}}),
]

CUSTOM_FIELDS = [
    case("is/ticket-custom-field-ru", {"field": "custom_fields.tariff", "op": "is",
                                       "value": "Премиум"},
         cf(tariff="ПРЕМИУМ"), cf(tariff="Базовый")),
    case("contains/ticket-custom-field-yo", {"field": "custom_fields.address",
                                             "op": "contains", "value": "Королёв"},
         cf(address="г. КОРОЛЕВ, ул. Мира"), cf(address="г. Москва")),
    case("in/ticket-custom-field", {"field": "custom_fields.tariff", "op": "in",
                                    "value": ["premium", "gold"]},
         cf(tariff="Gold"), cf(tariff="basic")),
    case("is/customer-custom-field", {"field": "customer.custom_fields.inn", "op": "is",
                                      "value": "7707083893"},
         {"customer": cf(inn="7707083893")}, {"customer": cf(inn="7736207543")}),
    case("is_set/customer-custom-field", {"field": "customer.custom_fields.inn",
                                          "op": "is_set"},
         {"customer": cf(inn="7707083893")}, {"customer": {}}),
    case("gt/organization-custom-field", {"field": "organization.custom_fields.seats",
                                          "op": "gt", "value": 100},
         {"organization": cf(seats=250)}, {"organization": cf(seats=50)}),
    case("not_contains/organization-custom-field", {
        "field": "organization.custom_fields.contract", "op": "not_contains",
        "value": "расторгнут"},
         {"organization": cf(contract="действует")},
         {"organization": cf(contract="Расторгнут 01.10")}),
]

CUSTOMER = [
    case("contains/customer-email", {"field": "customer.email", "op": "contains",
                                     "value": "@ACME.RU"},
         {"organization": {"domains": ["acme.ru"]}},
         {"organization": {"domains": ["acme.com"]}}),
    case("in/customer-language", {"field": "customer.language", "op": "in",
                                  "value": ["ru", "uk"]},
         {"customer": {"language": "ru"}}, {"customer": {"language": "en"}}),
    case("is_not/customer-language", {"field": "customer.language", "op": "is_not",
                                      "value": "ru"},
         {"customer": {"language": "en"}}, {"customer": {"language": "RU"}}),
    case("is/customer-name-yo", {"field": "customer.name", "op": "is", "value": "Фёдор"},
         {"customer": {"name": "ФЕДОР"}}, {"customer": {"name": "Федот"}}),
    case("not_set/customer-lastname", {"field": "customer.lastname", "op": "not_set"},
         {"customer": {}}, {"customer": {"lastname": "Иванов"}}),
    case("is_set/customer-phone", {"field": "customer.phone", "op": "is_set"},
         {"customer": {"phone": "+7 916 123-45-67"}}, {"customer": {}}),
    case("is/customer-organization-name", {"field": "customer.organization", "op": "is",
                                           "value": "ООО «Ёлка»"},
         {"organization": {"name": "ооо «елка»"}}, {"organization": {"name": "ООО «Сосна»"}}),
    case("is_set/customer-in-an-organization", {"field": "customer.organiz_id",
                                                "op": "is_set"},
         {"organization": {}}, {}),
]

ORGANIZATION = [
    case("contains/organization-name", {"field": "organization.name", "op": "contains",
                                        "value": "ёлк"},
         {"organization": {"name": "ООО «ЕЛКИ-ПАЛКИ»"}}, {"organization": {"name": "ИП Сосна"}}),
    case("not_in/organization-name", {"field": "organization.name", "op": "not_in",
                                      "value": ["Блэклист", "Спамер"]},
         {"organization": {"name": "Друг"}}, {"organization": {"name": "СПАМЕР"}}),
    case("is/organization-email", {"field": "organization.email", "op": "is",
                                   "value": "Office@Acme.ru"},
         {"organization": {"email": "office@acme.ru"}},
         {"organization": {"email": "sales@acme.ru"}}),
    case("is_set/organization-phone", {"field": "organization.phone", "op": "is_set"},
         {"organization": {"phone": "+7 495 000-00-00"}}, {"organization": {}}),
]


@pytest.mark.parametrize(("condition", "match", "miss"), [
    *TEXT, *REGEX, *NUMBERS, *DATES, *LISTS, *UNSET, *CUSTOM_FIELDS, *CUSTOMER, *ORGANIZATION])
def test_operator(desk, clock, condition, match, miss):
    desk.rule(name=RULE, kind="new", all=[condition],
              actions=[{"type": "add_tags", "value": ["hit"]}])

    fired = open_ticket(desk, clock, match)
    assert "hit" in fired.tags
    assert desk.audit(fired.id) == [HIT_LINE]
    (event,) = [e for e in desk.helpdesk.repository.tickets.events(fired.id)
                if e.kind == "rules_applied"]
    assert event.actor.type.value == "rule"
    assert [c.model_dump(include={"field", "new"}) for c in event.changes
            if c.field == "tags"] == [{"field": "tags", "new": [*fired.tags]}]

    left = open_ticket(desk, clock, miss)
    assert "hit" not in left.tags
    assert desk.audit(left.id) == []
    assert [e.kind for e in desk.helpdesk.repository.tickets.events(left.id)] == ["created"]


@pytest.mark.parametrize("condition", [
    pytest.param({"field": "custom_fields.due", "op": "gt", "value": "2026-12-01"},
                 id="date-value"),
    pytest.param({"field": "hours_since_created", "op": "is", "value": 3}, id="hours-with-is"),
    pytest.param({"field": "tags", "op": "in", "value": "vip"}, id="in-without-list"),
    pytest.param({"field": "subject", "op": "contains", "value": ""}, id="empty-needle"),
    pytest.param({"field": "subject", "op": "is"}, id="is-without-value"),
    pytest.param({"field": "customer.password_hash", "op": "is_set"}, id="private-attribute"),
])
def test_conditions_the_engine_cannot_evaluate_are_refused_when_saved(condition):
    with pytest.raises(ValidationError):
        Condition.model_validate(condition)


def test_hours_since_a_reply_that_never_came_are_neither_more_nor_less(desk, clock):
    """A ticket nobody answered has no `hours_since_staff_reply`: neither `gt` nor `lt`
    holds on it (write "overdue" rules with `hours_since_created` too)."""
    desk.rule(name="Overdue", kind="periodic",
              all=[{"field": "hours_since_staff_reply", "op": "gt", "value": 24}],
              actions=[{"type": "add_tags", "value": ["overdue"]}])
    desk.rule(name="Recent", kind="periodic",
              all=[{"field": "hours_since_staff_reply", "op": "lt", "value": 24}],
              actions=[{"type": "add_tags", "value": ["recent"]}])
    answered, never = desk.ticket("Answered"), desk.ticket("Never answered")
    desk.helpdesk.tickets.add_message(desk.admin, answered.id, "post",
                                      MessageCreate(text="Ответили"))
    clock.advance(hours=48)
    desk.runner.periodic(clock())
    assert desk.helpdesk.repository.tickets.get_ticket(answered.id).tags == ["overdue"]
    assert desk.audit(answered.id) == ["rule 'Overdue' fired: tags + overdue"]
    assert desk.helpdesk.repository.tickets.get_ticket(never.id).tags == []
    assert desk.audit(never.id) == []
