"""Sustained traffic through `make run` (a child process, real SMTP and HTTP), the figures of
"the local stack holds up":

- memory: the stack's resident size while N small mails arrive over SMTP, then while N
  Telegram updates arrive over HTTP (each on a fresh stack), at 1k, 5k and N;
- flat cost: mean time per message of the first and of the last 1,000;
- throughput with 8 concurrent senders (mails, then webhooks), answers >= 500, and every
  message counted exactly once through the API;
- the ceiling: bare `transact_write_items` per second on the embedded DynamoDB (as devstack
  patches it) in one process, and what one message costs in DynamoDB calls and workflow runs.

`python -m bench.load [N]` (default 10,000; `make bench` runs it with BENCH_MESSAGES)."""

from __future__ import annotations

import json
import smtplib
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests

from bench.channels import SECRET, telegram_update
from bench.mail import sample_mail
from devstack.process import StackProcess, start_stack

ADMIN = ("load-admin@example.com", "load-admin-key")
SENDERS = 8
WINDOW = 1_000  # messages in the "first" and "last" means
CHATS = 100  # Telegram conversations the updates spread over


@dataclass
class Run:
    label: str
    count: int
    seconds: float = 0.0
    per_message: list[float] = field(default_factory=list)
    rss_mb: dict[int, int] = field(default_factory=dict)
    server_errors: int = 0
    other_errors: int = 0
    stored: int | None = None
    dynamodb_calls: int = 0
    executions: int = 0

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def mean_ms(self, first: bool) -> float:
        window = min(WINDOW, max(1, len(self.per_message) // 2))
        part = self.per_message[:window] if first else self.per_message[-window:]
        return statistics.fmean(part) * 1000 if part else 0.0


def rss_mb(stack: StackProcess) -> int:
    with open(f"/proc/{stack.process.pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    return 0


@contextmanager
def fresh_stack() -> Iterator[StackProcess]:
    # Counting 10,000 tickets through the API one by one is far above an API key's default
    # 300 requests a minute (the key would be blocked for 20 minutes).
    stack = start_stack(ADMIN, env={"LOG_LEVEL": "WARNING", "RATE_LIMIT_PER_MINUTE": "1000000"})
    try:
        yield stack
    finally:
        stack.stop()


def checkpoints(count: int) -> set[int]:
    return {point for point in (1_000, 5_000, count) if point <= count} | {count}


# --- senders ------------------------------------------------------------------------------
def mail_sender(stack: StackProcess) -> Callable[[int], Callable[[], int]]:
    """A factory of per-thread senders, each over its own SMTP session; a send answers the
    SMTP code (250 accepted)."""
    local = threading.local()

    def send(number: int) -> int:
        if getattr(local, "smtp", None) is None:
            local.smtp = smtplib.SMTP("127.0.0.1", stack.ready["smtp_port"], timeout=120)
        try:
            local.smtp.send_message(sample_mail(number))
            return 250
        except smtplib.SMTPResponseException as refused:
            local.smtp = None
            return int(refused.smtp_code)

    return lambda number: lambda: send(number)


def telegram_sender(stack: StackProcess, fake_api: str) -> Callable[[int], Callable[[], int]]:
    admin = requests.Session()
    admin.auth = ADMIN
    created = admin.post(f"{stack.ready['api_url']}/channels/", json={
        "type": "telegram", "name": "Load bot",
        "secrets": {"token": "123456:load-bot-token", "webhook_secret": SECRET},
        "options": {"api_base_url": fake_api}}, timeout=60)
    created.raise_for_status()
    webhook = f"{stack.base}{created.json()['data']['webhook_path']}"
    local = threading.local()

    def send(number: int) -> int:
        if getattr(local, "http", None) is None:
            local.http = requests.Session()
        update = telegram_update(number, chat=5_000_000 + number % CHATS)
        return local.http.post(webhook, data=json.dumps(update, ensure_ascii=False).encode(),
                               headers={"Content-Type": "application/json",
                                        "X-Telegram-Bot-Api-Secret-Token": SECRET},
                               timeout=120).status_code

    return lambda number: lambda: send(number)


# --- runs ---------------------------------------------------------------------------------
def sequential(stack: StackProcess, label: str, count: int,
               sender: Callable[[int], Callable[[], int]]) -> Run:
    run = Run(label, count)
    points = checkpoints(count)
    began = time.monotonic()
    for number in range(count):
        started = time.monotonic()
        _tally(run, sender(number)())
        run.per_message.append(time.monotonic() - started)
        if number + 1 in points:
            run.rss_mb[number + 1] = rss_mb(stack)
            print(f"    {label}: {number + 1} sent, RSS {run.rss_mb[number + 1]} MB, "
                  f"last {WINDOW}: {run.mean_ms(first=False):.0f} ms each", flush=True)
    run.seconds = time.monotonic() - began
    return run


def concurrent(stack: StackProcess, label: str, count: int,
               sender: Callable[[int], Callable[[], int]], offset: int) -> Run:
    run = Run(label, count)
    lock = threading.Lock()

    def one(number: int) -> None:
        status = sender(offset + number)()
        with lock:
            _tally(run, status)

    began = time.monotonic()
    with ThreadPoolExecutor(SENDERS) as pool:
        for _ in pool.map(one, range(count)):
            pass
    run.seconds = time.monotonic() - began
    run.rss_mb[count] = rss_mb(stack)
    return run


def _tally(run: Run, status: int) -> None:
    if status >= 500:
        run.server_errors += 1
    elif status >= 300:
        run.other_errors += 1


def wait_idle(stack: StackProcess, quiet_seconds: float = 3.0, limit: float = 1800) -> float:
    """Seconds until the workflows caught up: the DynamoDB call count stopped moving."""
    began = time.monotonic()
    last, still_since = None, time.monotonic()
    while time.monotonic() - began < limit:
        calls = sum(_aws_calls(stack).values())
        if calls != last:
            last, still_since = calls, time.monotonic()
        elif time.monotonic() - still_since >= quiet_seconds:
            break
        time.sleep(0.5)
    return time.monotonic() - began


def _aws_calls(stack: StackProcess) -> dict[str, int]:
    answer = requests.get(f"{stack.base}/_local/aws-calls", timeout=60)
    return dict(answer.json()["dynamodb"])


def tickets_total(stack: StackProcess) -> int:
    """Tickets that exist, counted through the API one id at a time (GET /tickets/{id}):
    a list page still reads the whole index partition (issue "Reads that scale") and times
    out at 10,000 tickets. Ids come from a counter, so 1..highest covers every ticket."""
    session = requests.Session()
    session.auth = ADMIN
    api = stack.ready["api_url"]

    def exists(ticket_id: int) -> bool:
        return session.get(f"{api}/tickets/{ticket_id}/", timeout=60).status_code == 200

    high = 1
    while exists(high) or exists(high + 1):  # a lost race may leave one id unused
        high *= 2
    low = high // 2
    while low < high:  # the highest id in (low, high] that still exists
        middle = (low + high + 1) // 2
        if exists(middle) or exists(middle + 1):
            low = middle
        else:
            high = middle - 1
    with ThreadPoolExecutor(SENDERS) as pool:
        return sum(pool.map(exists, range(1, low + 2)))


def posts_total(stack: StackProcess) -> int:
    """Posts of every ticket, read page by page through the API."""
    session = requests.Session()
    session.auth = ADMIN
    api, total, page = stack.ready["api_url"], 0, 1
    while True:
        listed = session.get(f"{api}/tickets/", params={"per_page": 100, "page": page},
                             timeout=600).json()
        for ticket in listed["data"].values():
            posts = session.get(f"{api}/tickets/{ticket['id']}/posts/",
                                params={"per_page": 100}, timeout=600).json()
            total += int(posts.get("pagination", {}).get("total", len(posts["data"])))
        if page >= int(listed["pagination"]["total_pages"]):
            return total
        page += 1


# --- the ceiling --------------------------------------------------------------------------
@dataclass
class Ceiling:
    """TransactWriteItems of two items per second on the embedded DynamoDB (moto with
    devstack's patches, in-process, one thread): what any message costs at least per write.
    `bare`: a boto3 client's usual path into moto (a signed request moto parses back), the
    ceiling as issue "local stack that holds up" defines it; `direct`: the path the stack's
    own calls take (devstack/dynamodb_direct.py)."""
    bare: float
    direct: float


def transact_ceiling(seconds: float = 5.0) -> Ceiling:
    import boto3
    from moto import mock_aws

    from devstack import dynamodb_direct, moto_patches
    from tests.support.template import table_create_args

    with mock_aws():
        moto_patches.install()
        try:
            client = boto3.client("dynamodb", region_name="us-east-1")
            client.create_table(**table_create_args("ceiling"))
            with dynamodb_direct.bypassed():
                bare = _transactions_per_second(client, seconds, "bare")
            return Ceiling(bare=bare, direct=_transactions_per_second(client, seconds, "direct"))
        finally:
            moto_patches.uninstall()


def _transactions_per_second(client: Any, seconds: float, prefix: str) -> float:
    done, began = 0, time.monotonic()
    while time.monotonic() - began < seconds:
        client.transact_write_items(TransactItems=[
            {"Put": {"TableName": "ceiling", "Item": {
                "PK": {"S": f"{prefix}#{done}"}, "SK": {"S": "TICKET"},
                "title": {"S": "Не проходит оплата"}},
                "ConditionExpression": "attribute_not_exists(PK)"}},
            {"Put": {"TableName": "ceiling", "Item": {
                "PK": {"S": f"{prefix}#{done}"}, "SK": {"S": "POST#1"},
                "text": {"S": "Здравствуйте! Карта отклонена."}}}}])
        done += 1
    return done / (time.monotonic() - began)


# --- report -------------------------------------------------------------------------------
def measure(count: int) -> list[Run]:
    from tests.fakes.providers import FakeProviders

    runs = []
    print(f"\nSustained load on the local stack ({count} messages per run, "
          f"{SENDERS} senders for throughput):", flush=True)
    with fresh_stack() as stack:
        base = rss_mb(stack)
        print(f"    mail: fresh stack RSS {base} MB", flush=True)
        before = sum(_aws_calls(stack).values())
        run = sequential(stack, "mail, 1 SMTP session", count, mail_sender(stack))
        wait_idle(stack)
        run.dynamodb_calls = sum(_aws_calls(stack).values()) - before
        run.rss_mb[0] = base
        run.stored = tickets_total(stack)
        runs.append(run)
        run = concurrent(stack, f"mail, {SENDERS} SMTP sessions", count, mail_sender(stack),
                         offset=count)
        run.seconds += wait_idle(stack)  # sustained: until the workflows caught up too
        run.stored = tickets_total(stack) - (runs[-1].stored or 0)
        runs.append(run)
    with FakeProviders() as fake, fresh_stack() as stack:
        base = rss_mb(stack)
        print(f"    telegram: fresh stack RSS {base} MB", flush=True)
        sender = telegram_sender(stack, fake.url)
        before = sum(_aws_calls(stack).values())
        run = sequential(stack, "telegram, 1 sender", count, sender)
        wait_idle(stack)
        run.dynamodb_calls = sum(_aws_calls(stack).values()) - before
        run.rss_mb[0] = base
        runs.append(run)
        run = concurrent(stack, f"telegram, {SENDERS} senders", count, sender, offset=count)
        run.seconds += wait_idle(stack)
        run.stored = posts_total(stack)  # both runs' posts: 2 x count expected
        runs.append(run)
    return runs


def workload_problems(runs: list[Run], count: int) -> list[str]:
    """What the runs failed to do: figures of a workload that lost or doubled messages, or
    answered with errors, are not figures."""
    problems = []
    for run in runs:
        if run.server_errors or run.other_errors:
            problems.append(f"{run.label}: {run.server_errors} answers >= 500, "
                            f"{run.other_errors} other errors")
        expected = 2 * count if run.label.startswith("telegram") else count
        if run.stored is not None and run.stored != expected:
            problems.append(f"{run.label}: {run.stored} stored through the API, "
                            f"expected {expected} (each message exactly once)")
    if not any(run.stored is not None for run in runs):
        problems.append("nothing was counted through the API")
    return problems


def report(count: int) -> None:
    runs = measure(count)
    problems = workload_problems(runs, count)
    ceiling = transact_ceiling()
    print(f"\n  {'run':<28} {'msgs/s':>7} {'first ms':>9} {'last ms':>8} {'>=500':>6} "
          f"{'stored':>7}  RSS MB (at messages)")
    for run in runs:
        rss = ", ".join(f"{mb}@{n}" for n, mb in sorted(run.rss_mb.items()))
        first = f"{run.mean_ms(True):9.0f}" if run.per_message else f"{'':>9}"
        last = f"{run.mean_ms(False):8.0f}" if run.per_message else f"{'':>8}"
        stored = "" if run.stored is None else str(run.stored)
        print(f"  {run.label:<28} {run.rate:7.1f} {first} {last} {run.server_errors:6d} "
              f"{stored:>7}  {rss}")
    print(f"\n  Ceiling: bare moto transact_write_items (2 items) {ceiling.bare:.0f}/s in one "
          f"process; {ceiling.direct:.0f}/s on the stack's direct in-process path")
    calls_per_message: dict[str, float] = {}
    for run in runs:
        channel = run.label.split(",")[0]
        if run.dynamodb_calls:
            calls_per_message[channel] = per = run.dynamodb_calls / run.count
            print(f"  {channel}: {per:.1f} DynamoDB calls per message "
                  f"(handlers + workflows) -> at most ~{ceiling.bare / per:.0f} messages/s "
                  f"(~{ceiling.direct / per:.0f} on the direct path) if every call cost one "
                  "such transaction")
        elif channel in calls_per_message:
            per = calls_per_message[channel]
            print(f"  {run.label}: {run.rate:.1f} messages/s = "
                  f"{100 * run.rate * per / ceiling.bare:.0f}% of that ceiling "
                  f"({100 * run.rate * per / ceiling.direct:.0f}% of the direct path's)")
    if problems:
        print("\n  THE WORKLOAD FAILED; the figures above are not valid:", file=sys.stderr)
        for problem in problems:
            print(f"    {problem}", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    report(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
