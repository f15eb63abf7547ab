"""`make run ARGS=--seed-demo`: a few departments, agents, customers and tickets to look at."""

from __future__ import annotations

from dataclasses import dataclass

from helpdesk.inputs import MessageCreate, TicketCreate, TicketUpdate, UserCreate
from helpdesk.service import Helpdesk


@dataclass
class DemoAgent:
    name: str
    email: str
    api_key: str
    department: str


def seed_demo(helpdesk: Helpdesk, admin_email: str) -> list[DemoAgent]:
    admin_user = helpdesk.repository.people.user_by_contact("email", admin_email)
    assert admin_user is not None, "seed_demo runs after bootstrap"
    admin = helpdesk.users.viewer_of(admin_user)
    add = helpdesk.dictionaries.add
    billing = add(admin, "departments", {"en": "Billing", "ru": "Бухгалтерия"}, None, {})
    technical = add(admin, "departments", {"en": "Technical", "ru": "Техподдержка"}, None, {})
    agents = []
    for name, email, department in (
        ("Olga", "olga@example.com", billing),
        ("Pavel", "pavel@example.com", technical),
    ):
        _, key = helpdesk.users.create(admin, UserCreate(
            name=name, email=email, group_id=2, department=[int(department.id)]))
        agents.append(DemoAgent(name, email, key or "", department.name["en"]))
    olga = helpdesk.repository.people.user_by_contact("email", "olga@example.com")
    tickets = [
        ("Счёт не оплачивается картой", "Пытаюсь оплатить счёт №1024, карта отклонена.",
         "ivan.petrov@example.ru", "Иван", billing.id),
        ("Invoice for October", "Could you send the October invoice again?",
         "jane@example.com", "Jane", billing.id),
        ("Cannot log in after password reset", "The reset link says it expired.",
         "li.wei@example.cn", "Li Wei", technical.id),
    ]
    for title, text, email, name, department_id in tickets:
        ticket = helpdesk.tickets.create(admin, TicketCreate(
            title=title, description=text, user_email=email, user_name=name,
            department_id=int(department_id), source="email"))
        if olga and department_id == billing.id:
            helpdesk.tickets.update(admin, ticket.id, TicketUpdate(owner_id=olga.id))
            helpdesk.tickets.add_message(admin, ticket.id, "post", MessageCreate(
                text="Thank you, we are looking into it.", user_id=olga.id))
    return agents
