"""Rule semantics a helpdesk admin relies on: order, ALL/ANY, chaining, no loops."""

from __future__ import annotations

from helpdesk.inputs import TicketUpdate


def billing_rule(desk, **extra):
    return desk.rule(name="Billing", kind="new", **{
        "all": [{"field": "channel", "op": "is", "value": "api"}],
        "any": [{"field": "text", "op": "contains", "value": "оплата"},
                {"field": "text", "op": "contains", "value": "invoice"}],
        "actions": [{"type": "set_department", "value": 1},
                    {"type": "set_priority", "value": 3},
                    {"type": "add_tags", "value": ["billing"]}], **extra})


def test_incoming_ticket_matching_any_keyword_is_routed_and_audited(desk):
    billing_rule(desk)
    routed = desk.ticket("ОПЛАТА заказа", "Здравствуйте, где счёт?")
    assert (routed.priority_id, routed.tags) == (3, ["billing"])
    (line,) = desk.audit(routed.id)
    assert line.startswith("rule 'Billing' fired:") and "priority_id = 3" in line
    (event,) = [e for e in desk.helpdesk.repository.tickets.events(routed.id)
                if e.kind == "rules_applied"]
    assert event.actor.type.value == "rule"

    other = desk.ticket("Hello", "Where is my parcel?")
    assert other.tags == [] and desk.audit(other.id) == []


def test_all_group_must_hold_entirely(desk):
    billing_rule(desk, all=[{"field": "channel", "op": "is", "value": "email"}])
    assert desk.ticket("Invoice please").tags == []


def test_rules_run_in_order_and_a_later_rule_sees_earlier_changes(desk):
    billing_rule(desk)
    desk.rule(name="Urgent billing", kind="new",
              all=[{"field": "tags", "op": "contains", "value": "billing"}],
              actions=[{"type": "add_tags", "value": ["second"]}])
    ticket = desk.ticket("invoice")
    assert ticket.tags == ["billing", "second"]
    assert [line.split(":")[0] for line in desk.audit(ticket.id)] == [
        "rule 'Billing' fired", "rule 'Urgent billing' fired"]


def test_reordering_changes_what_the_later_rule_sees(desk):
    first = billing_rule(desk)
    second = desk.rule(name="Urgent billing", kind="new",
                       all=[{"field": "tags", "op": "contains", "value": "billing"}],
                       actions=[{"type": "add_tags", "value": ["second"]}])
    desk.helpdesk.rules.reorder(desk.admin, first.kind, [second.id, first.id])
    assert desk.ticket("invoice").tags == ["billing"]


def test_stop_skips_later_rules(desk):
    desk.rule(name="Stop", kind="new", actions=[{"type": "add_tags", "value": ["a"]},
                                                {"type": "stop"}])
    desk.rule(name="Never", kind="new", actions=[{"type": "add_tags", "value": ["b"]}])
    assert desk.ticket("x").tags == ["a"]


def test_updated_rule_on_status_change_from_to(desk):
    desk.rule(name="Rating request", kind="updated",
              all=[{"field": "status_id", "op": "changed", "to": "closed"}],
              actions=[{"type": "add_tags", "value": ["rate-me"]}])
    ticket = desk.ticket("Help")
    desk.helpdesk.tickets.update(desk.admin, ticket.id, TicketUpdate(priority_id=2))
    desk.settle(ticket.id)
    assert desk.helpdesk.repository.tickets.get_ticket(ticket.id).tags == []
    desk.helpdesk.tickets.update(desk.admin, ticket.id, TicketUpdate(status_id="closed"))
    desk.settle(ticket.id)
    assert desk.helpdesk.repository.tickets.get_ticket(ticket.id).tags == ["rate-me"]
    assert len(desk.audit(ticket.id)) == 1  # fired once for the event, not again for its own


def test_a_rule_that_sets_what_it_tests_settles_without_a_new_event(desk):
    desk.rule(name="High for VIP", kind="updated",
              all=[{"field": "tags", "op": "contains", "value": "vip"}],
              actions=[{"type": "set_priority", "value": 4}])
    ticket = desk.ticket("x")
    desk.helpdesk.tickets.update(desk.admin, ticket.id, TicketUpdate(tags=["vip"]))
    desk.settle(ticket.id)
    events = desk.helpdesk.repository.tickets.events(ticket.id)
    # created, the update, the rule's change; the rule's own event changes nothing more.
    assert [e.kind for e in events] == ["created", "updated", "rules_applied"]
    assert desk.helpdesk.repository.tickets.get_ticket(ticket.id).priority_id == 4


def test_two_rules_undoing_each_other_settle_without_a_loop(desk):
    desk.rule(name="Ping", kind="updated",
              all=[{"field": "tags", "op": "contains", "value": "ping"}],
              actions=[{"type": "remove_tags", "value": ["ping"]},
                       {"type": "add_tags", "value": ["pong"]}])
    desk.rule(name="Pong", kind="updated",
              all=[{"field": "tags", "op": "contains", "value": "pong"}],
              actions=[{"type": "remove_tags", "value": ["pong"]},
                       {"type": "add_tags", "value": ["ping"]}])
    ticket = desk.ticket("x")
    desk.helpdesk.tickets.update(desk.admin, ticket.id, TicketUpdate(tags=["ping"]))
    ran = desk.settle(ticket.id)
    # Ping then Pong in one pass: no net change, so no event and nothing to re-run.
    assert [r["rules_fired"] for r in ran] == [["Ping", "Pong"]]
    assert [e.kind for e in desk.helpdesk.repository.tickets.events(ticket.id)] == [
        "created", "updated"]
    assert desk.helpdesk.repository.tickets.get_ticket(ticket.id).tags == ["ping"]


def test_a_chain_of_rules_stops_at_the_depth_cap_and_says_so(desk, caplog):
    # Rule n sees tag n and adds tag n+1; created last-first, so each pass fires one rule
    # and its change is a new event for the next.
    for step in reversed(range(12)):
        desk.rule(name=f"Step {step}", kind="updated",
                  all=[{"field": "tags", "op": "contains", "value": f"t{step}"}],
                  actions=[{"type": "add_tags", "value": [f"t{step + 1}"]}])
    ticket = desk.ticket("x")
    desk.helpdesk.tickets.update(desk.admin, ticket.id, TicketUpdate(tags=["t0"]))
    ran = desk.settle(ticket.id)
    assert len(desk.audit(ticket.id)) == 10
    assert ran[-1]["skipped"] == "rule loop cap (10) reached"
    assert "rule loop cap reached" in caplog.text


def test_no_net_change_emits_no_event(desk):
    desk.rule(name="Tag", kind="new", actions=[{"type": "add_tags", "value": ["x"]}])
    ticket = desk.ticket("x")
    before = desk.helpdesk.repository.tickets.get_ticket(ticket.id).version
    same = desk.helpdesk.tickets.update(desk.admin, ticket.id, TicketUpdate(tags=["x"]))
    assert same.version == before


def test_running_an_event_twice_applies_it_once(desk):
    desk.rule(name="Count", kind="new", actions=[{"type": "add_tags", "value": ["once"]},
                                                 {"type": "note", "value": {"text": "seen"}}])
    ticket = desk.ticket("x")
    again = desk.runner.on_event(ticket.id, 1).as_dict()
    assert again["rules_fired"] == ["Count"]
    assert len(desk.helpdesk.repository.tickets.messages("comment", ticket.id)) == 1
    assert len([e for e in desk.helpdesk.repository.tickets.events(ticket.id)
                if e.kind == "rules_applied"]) == 1
