"""`make run`'s entry point as a subprocess on free ports, driven over real HTTP through
what an integrator with HelpDeskEddy v2 code does."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from devstack.process import start_stack
from tests.support.live import session, wait_for

ROOT = Path(__file__).resolve().parents[2]
ADMIN = ("e2e-admin@example.com", "e2e-admin-key")
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack() -> Iterator[dict]:
    started = start_stack(ADMIN)
    yield {**started.ready, "process": started.process, "base": started.base}
    started.stop()




def test_integrator_flow_over_http(stack):
    api = stack["api_url"]
    admin = session(*ADMIN)
    assert stack["admin_email"] == ADMIN[0] and stack["admin_api_key"] == ADMIN[1]
    for kind in ("departments", "statuses", "priorities"):
        answer = admin.get(f"{api}/{kind}/")
        assert answer.status_code == 200 and answer.json()["data"]
        assert answer.headers["X-Rate-Limit"] == "300"
    created = admin.post(f"{api}/tickets/", json={
        "title": "Не приходит счёт", "description": "Жду счёт с понедельника",
        "user_email": "klient@example.ru", "user_name": "Клиент"})
    assert created.status_code == 200, created.text
    ticket = created.json()["data"]
    assert ticket["unique_id"].startswith("HD-") and ticket["user_email"] == "klient@example.ru"
    assert admin.get(f"{api}/tickets/{ticket['id']}").json()["data"]["title"] == "Не приходит счёт"
    post = admin.post(f"{api}/tickets/{ticket['id']}/posts", json={"text": "Отправили ещё раз"})
    assert post.status_code == 200
    comment = admin.post(f"{api}/tickets/{ticket['id']}/comments/", json={"text": "проверить"})
    assert comment.json()["data"]["visible"] is False
    changed = admin.put(f"{api}/tickets/{ticket['id']}/", json={"status_id": "closed",
                                                                "owner_id": 1})
    assert (changed.json()["data"]["status_id"], changed.json()["data"]["owner_id"]) == (
        "closed", 1)
    rows = admin.get(f"{api}/tickets/{ticket['id']}/audit/").json()["data"]
    assert {"created", "post_added", "comment_added", "updated"} <= {r["action"] for r in rows}
    users = admin.get(f"{api}/users/").json()["data"]
    assert {"klient@example.ru", ADMIN[0]} <= {u["email"] for u in users}
    # Search reads the token index the table's stream feeds (search_index function): poll.
    def searched() -> dict | None:
        answer = admin.get(f"{api}/tickets/", params={"search": "счёт"}).json()
        return answer if answer["data"] else None

    listed = wait_for(searched)
    assert list(listed["data"]) == [str(ticket["id"])] and listed["pagination"]["total"] == 1

    # Every event is recorded done: the staff reply (a mail to deliver) through the
    # ticket_event workflow; the creation (the customer's text, no rule, no webhook) at once,
    # without starting one (helpdesk/workflow_gate.py).
    def workflow_of(action: str) -> str | None:
        audit = admin.get(f"{api}/tickets/{ticket['id']}/audit/").json()["data"]
        status = next(r["workflow_status"] for r in audit if r["action"] == action)
        return status if status != "PENDING" else None

    assert wait_for(lambda: workflow_of("created")) == "SUCCEEDED"
    assert wait_for(lambda: workflow_of("post_added")) == "SUCCEEDED"
    runs = requests.get(f"{stack['base']}/_local/executions", timeout=10).json()["executions"]
    started = {r["name"]: r["status"] for r in runs}
    assert started.get(f"ticket-{ticket['id']}-v2") == "SUCCEEDED"
    assert f"ticket-{ticket['id']}-v1" not in started


def test_agent_of_another_department_gets_404(stack):
    api = stack["api_url"]
    admin = session(*ADMIN)
    sales = admin.post(f"{api}/departments/", json={"name": {"en": "Sales"}}).json()["data"]
    agent = admin.post(f"{api}/users/", json={"name": "Sam", "email": "sam@example.com",
                                              "group_id": 2, "department": [sales["id"]]})
    key = agent.json()["data"]["api_key"]
    support_ticket = admin.post(f"{api}/tickets/", json={"title": "support only",
                                                         "user_email": "x@example.com"})
    as_agent = session("sam@example.com", key)
    answer = as_agent.get(f"{api}/tickets/{support_ticket.json()['data']['id']}/")
    assert answer.status_code == 404 and answer.json()["errors"][0]["code"] == "not_found"


def test_the_301st_call_in_a_minute_is_refused(stack):
    api = stack["api_url"]
    admin = session(*ADMIN)
    made = admin.post(f"{api}/users/", json={"name": "Busy", "email": "busy@example.com",
                                             "group_id": 2, "department": [1]})
    busy = session("busy@example.com", made.json()["data"]["api_key"])
    remaining = [busy.get(f"{api}/priorities/") for _ in range(300)]
    assert all(r.status_code == 200 for r in remaining)
    # A minute boundary inside the loop would reset the window; allow for it.
    over = busy.get(f"{api}/priorities/")
    if over.status_code == 200:
        over = next(r for r in (busy.get(f"{api}/priorities/") for _ in range(300))
                    if r.status_code == 429)
    assert over.status_code == 429
    assert over.headers["X-Rate-Limit"] == "300"
    assert over.headers["X-Rate-Limit-Remaining"] == "0"
    assert over.json()["errors"][0]["code"] == "rate_limited"
    assert busy.get(f"{api}/priorities/").status_code == 429  # blocked, not just counted


def test_bad_requests_get_4xx_envelopes_never_500(stack):
    api = stack["api_url"]
    admin = session(*ADMIN)
    cases = [
        admin.post(f"{api}/tickets/", data="{broken", headers={"content-type":
                                                                "application/json"}),
        admin.post(f"{api}/tickets/", json={"title": "x", "priority_id": "urgent"}),
        admin.get(f"{api}/tickets/999999/"),
        admin.get(f"{api}/tickets/abc/"),
        requests.get(f"{api}/tickets/", timeout=10),
        session(ADMIN[0], "wrong").get(f"{api}/tickets/"),
        admin.get(f"{api}/no-such-thing"),
    ]
    for answer in cases:
        assert 400 <= answer.status_code < 500, answer.text
        assert answer.json()["errors"][0]["details"]


def test_parallel_requests_do_not_see_each_others_data(stack):
    from concurrent.futures import ThreadPoolExecutor

    api = stack["api_url"]
    admin = session(*ADMIN)
    ids = [
        admin.post(f"{api}/tickets/", json={"title": f"parallel {n}",
                                            "user_email": f"p{n}@example.com"}).json()["data"]["id"]
        for n in range(8)
    ]

    def read(ticket_id: int) -> tuple[int, int]:
        answer = session(*ADMIN).get(f"{api}/tickets/{ticket_id}/")
        return ticket_id, answer.json()["data"]["id"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        pairs = list(pool.map(read, ids * 4))
    assert all(asked == got for asked, got in pairs)


def test_mail_round_trip_over_smtp(stack):
    """A customer writes over SMTP, an agent answers over the API, the answer leaves as a
    threaded mail, and the customer's reply lands in the same ticket."""
    import smtplib
    from email import message_from_bytes, policy
    from email.message import EmailMessage

    api = stack["api_url"]
    admin = session(*ADMIN)
    first = EmailMessage()
    first["From"] = "Ольга <olga@example.ru>"
    first["To"] = "support@example.com"
    first["Subject"] = "Не приходят письма"
    first["Message-ID"] = "<e2e-first@example.ru>"
    first.set_content("Здравствуйте! Письма не приходят.", charset="koi8-r")
    with smtplib.SMTP("127.0.0.1", stack["smtp_port"], timeout=30) as smtp:
        smtp.send_message(first)

    def ticket_of_mail() -> dict | None:
        found = admin.get(f"{api}/tickets/", params={"search": "olga@example.ru"}).json()
        return next(iter(found["data"].values()), None)

    ticket = wait_for(ticket_of_mail)
    assert ticket and ticket["title"] == "Не приходят письма" and ticket["source"] == "email"
    # An inflected word of the mail's text finds it through the token index.
    by_word = wait_for(lambda: admin.get(f"{api}/tickets/", params={
        "search": "письмами приходить"}).json()["data"])
    assert list(by_word) == [str(ticket["id"])]
    posts = admin.get(f"{api}/tickets/{ticket['id']}/posts/").json()["data"]
    assert posts[0]["text"].startswith("Здравствуйте!")

    reply = admin.post(f"{api}/tickets/{ticket['id']}/posts/", json={"text": "Проверили."})
    assert reply.json()["data"]["delivery"]["status"] == "queued"

    def sent_reply() -> dict | None:
        outbox = requests.get(f"{stack['base']}/_local/outbox", timeout=10).json()["messages"]
        return next((m for m in outbox if f"[{ticket['unique_id']}]" in m["subject"]), None)

    sent = wait_for(sent_reply)
    assert sent, "the staff reply never reached the outbox"
    assert sent["to"] == ["olga@example.ru"] and sent["in_reply_to"] == "<e2e-first@example.ru>"
    raw = (Path(stack["outbox"]) / sent["file"]).read_bytes()
    assert message_from_bytes(raw, policy=policy.default)["Auto-Submitted"] is None

    def delivered() -> str | None:
        data = admin.get(f"{api}/tickets/{ticket['id']}/posts/").json()["data"]
        status = data[-1]["delivery"]["status"]
        return status if status != "queued" else None

    assert wait_for(delivered) == "sent"
    answer = EmailMessage()
    answer["From"] = "olga@example.ru"
    answer["To"] = "support@example.com"
    answer["Subject"] = "Re: Не приходят письма"
    answer["In-Reply-To"] = sent["message_id"]
    answer.set_content("Спасибо, заработало!")
    with smtplib.SMTP("127.0.0.1", stack["smtp_port"], timeout=30) as smtp:
        smtp.send_message(answer)

    def threaded() -> list | None:
        data = admin.get(f"{api}/tickets/{ticket['id']}/posts/").json()["data"]
        return data if len(data) == 3 else None

    posts = wait_for(threaded)
    assert posts and posts[-1]["text"] == "Спасибо, заработало!"


def test_no_scan_ran_and_ctrl_c_stops_cleanly(stack):
    calls = requests.get(f"{stack['base']}/_local/aws-calls", timeout=10).json()["dynamodb"]
    assert calls.get("Query", 0) > 0
    assert calls.get("Scan", 0) == 0
    process = stack["process"]
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0
