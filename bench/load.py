"""Sustained traffic through `make run` (a child process, real SMTP and HTTP), the figures of
"the local stack holds up":

- memory: the stack's resident size while N small mails arrive over SMTP, then while N
  Telegram updates arrive over HTTP (each on a fresh stack), at 1k, 5k and N;
- flat cost: mean time per message of the first and of the last 1,000;
- throughput with 8 concurrent senders (mails, then webhooks), answers >= 500, and every
  message counted exactly once through the API;
- the ceiling (bench/ceiling.py): what one message's real count of AWS requests and workflow
  states costs the embedded AWS alone, priced with unit costs measured in this process, and
  the bare `transact_write_items` rate the issue names.

`python -m bench.load [N]` (default 10,000; `make bench` runs it with BENCH_MESSAGES)."""

from __future__ import annotations

import json
import os
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

from bench import ceiling
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
    calls: dict[str, Any] | None = None  # AWS requests, workflow states, CPU split
    cpu_seconds: float = 0.0  # the stack process's CPU time, until the workflows caught up
    stolen: float = 0.0  # share of the machine's CPU time the hypervisor gave elsewhere

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


def cpu_seconds(stack: StackProcess) -> float:
    """User + system CPU time of the stack's process so far."""
    with open(f"/proc/{stack.process.pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_ticks() -> tuple[int, int]:
    """(steal, total) CPU ticks of the whole machine so far (/proc/stat). On a virtual
    machine the hypervisor may give part of each core's time to other guests ("steal"); the
    same run then takes longer, so each run prints its share beside its figures."""
    with open("/proc/stat") as stat:
        ticks = [int(value) for value in stat.readline().split()[1:9]]
    return ticks[7], sum(ticks)


@contextmanager
def fresh_stack() -> Iterator[StackProcess]:
    # Counting 10,000 tickets through the API one by one is far above an API key's default
    # 300 requests a minute (the key would be blocked for 20 minutes).
    # The fake provider listens on 127.0.0.1, which channels reach only when allow-listed.
    stack = start_stack(ADMIN, env={"LOG_LEVEL": "WARNING", "RATE_LIMIT_PER_MINUTE": "1000000",
                                    "WEBHOOK_ALLOW_HOSTS": "127.0.0.1"})
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
    """Seconds until the workflows caught up: until the DynamoDB call count last moved (it
    then stood still for `quiet_seconds`)."""
    began = time.monotonic()
    last, still_since = None, time.monotonic()
    while time.monotonic() - began < limit:
        calls = sum(aws_calls(stack)["dynamodb"].values())
        if calls != last:
            last, still_since = calls, time.monotonic()
        elif time.monotonic() - still_since >= quiet_seconds:
            break
        time.sleep(0.25)
    return still_since - began


def aws_calls(stack: StackProcess) -> dict[str, Any]:
    """The stack's count of AWS requests and workflow states so far (devstack/aws_calls.py)."""
    answer = requests.get(f"{stack.base}/_local/aws-calls", timeout=60)
    return dict(answer.json())


def tickets_total(stack: StackProcess) -> int:
    """Tickets that exist, counted through the API one id at a time (GET /tickets/{id}), not
    from the lists' counters: what is stored, whatever the counters say. Ids come from a
    counter, so 1..highest covers every ticket."""
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
    """Posts of every ticket, each ticket's posts counted page by page through the API (a
    page reads the posts up to it: its `total` is exact once no more follow)."""
    session = requests.Session()
    session.auth = ADMIN
    api, total, page = stack.ready["api_url"], 0, 1

    def posts_of(ticket_id: str) -> int:
        number = 1
        while True:
            listed = session.get(f"{api}/tickets/{ticket_id}/posts/",
                                 params={"per_page": 100, "page": number}, timeout=600).json()
            pagination = listed.get("pagination", {})
            if pagination.get("total_is_exact", True):
                return int(pagination.get("total", len(listed["data"])))
            number += 1

    while True:
        listed = session.get(f"{api}/tickets/", params={"per_page": 100, "page": page},
                             timeout=600).json()
        total += sum(posts_of(ticket_id) for ticket_id in listed["data"])
        if listed["pagination"]["next_cursor"] is None:
            return total
        page += 1


# --- report -------------------------------------------------------------------------------
def measure(count: int) -> list[Run]:
    """Each channel on a fresh stack (BENCH_CHANNELS: mail,telegram)."""
    runs: list[Run] = []
    channels = os.environ.get("BENCH_CHANNELS", "mail,telegram").split(",")
    print(f"\nSustained load on the local stack ({count} messages per run, "
          f"{SENDERS} senders for throughput):", flush=True)
    if "mail" in channels:
        runs += _mail_runs(count)
    if "telegram" in channels:
        runs += _telegram_runs(count)
    return runs


def _mail_runs(count: int) -> list[Run]:
    runs = []
    with fresh_stack() as stack:
        base = rss_mb(stack)
        print(f"    mail: fresh stack RSS {base} MB", flush=True)
        run = accounted(stack, lambda: sequential(
            stack, "mail, 1 SMTP session", count, mail_sender(stack)), sustained=False)
        run.rss_mb[0] = base
        run.stored = tickets_total(stack)
        runs.append(run)
        run = accounted(stack, lambda: concurrent(
            stack, f"mail, {SENDERS} SMTP sessions", count, mail_sender(stack), offset=count))
        run.stored = tickets_total(stack) - (runs[-1].stored or 0)
        runs.append(run)
    return runs


def _telegram_runs(count: int) -> list[Run]:
    from tests.fakes.providers import FakeProviders

    runs = []
    with FakeProviders() as fake, fresh_stack() as stack:
        base = rss_mb(stack)
        print(f"    telegram: fresh stack RSS {base} MB", flush=True)
        sender = telegram_sender(stack, fake.url)
        run = accounted(stack, lambda: sequential(stack, "telegram, 1 sender", count, sender),
                        sustained=False)
        run.rss_mb[0] = base
        runs.append(run)
        run = accounted(stack, lambda: concurrent(
            stack, f"telegram, {SENDERS} senders", count, sender, offset=count))
        run.stored = posts_total(stack)  # both runs' posts: 2 x count expected
        runs.append(run)
    return runs


def accounted(stack: StackProcess, work: Callable[[], Run], sustained: bool = True) -> Run:
    """Runs `work`, then waits until the workflows caught up; the run keeps the AWS requests
    and the stack's CPU time of both. `sustained`: its time includes the catching up."""
    before, cpu_before, ticks_before = aws_calls(stack), cpu_seconds(stack), machine_ticks()
    run = work()
    caught_up = wait_idle(stack)
    if sustained:
        run.seconds += caught_up
    run.calls = ceiling.difference(aws_calls(stack), before)
    run.cpu_seconds = cpu_seconds(stack) - cpu_before
    (steal, total), (steal_before, total_before) = machine_ticks(), ticks_before
    run.stolen = (steal - steal_before) / max(1, total - total_before)
    return run


def cpu_split(run: Run) -> str:
    """"; CPU per message: ..." from the stack's own accounting (devstack/aws_calls.py)."""
    spent = (run.calls or {}).get("cpu_seconds", {})
    if not run.cpu_seconds or "aws" not in spent:
        return ""
    per = 1000 / run.count
    total, aws, ours = run.cpu_seconds * per, spent["aws"] * per, spent["functions"] * per
    rest = max(0.0, total - aws - ours)  # the split is sampled (devstack/aws_calls.py)
    return (f"\n        CPU per message {total:.0f} ms: embedded AWS {aws:.0f} ms (at that cost "
            f"alone {1000 / aws:.1f} messages/s: {100 * run.rate * aws / 1000:.0f}%), our "
            f"handlers {ours:.0f} ms, the rest {rest:.0f} ms (SMTP and HTTP "
            "servers, stream poller, thread starts, garbage collection)")


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
    costs = ceiling.measure()
    crowded = ceiling.measure(callers=SENDERS)  # as the concurrent runs call it
    print(f"\n  {'run':<28} {'msgs/s':>7} {'first ms':>9} {'last ms':>8} {'>=500':>6} "
          f"{'stored':>7} {'steal':>6}  RSS MB (at messages)")
    for run in runs:
        rss = ", ".join(f"{mb}@{n}" for n, mb in sorted(run.rss_mb.items()))
        first = f"{run.mean_ms(True):9.0f}" if run.per_message else f"{'':>9}"
        last = f"{run.mean_ms(False):8.0f}" if run.per_message else f"{'':>8}"
        stored = "" if run.stored is None else str(run.stored)
        print(f"  {run.label:<28} {run.rate:7.1f} {first} {last} {run.server_errors:6d} "
              f"{stored:>7} {100 * run.stolen:5.0f}%  {rss}")
    print("  (steal: the share of the machine's CPU time its hypervisor gave to other guests "
          "during the run; the rates fall with it)")
    bare, direct = costs.transact_per_second
    print(f"\n  Ceiling. Bare moto transact_write_items (2 items) in this process: {bare:.0f}/s "
          f"through a boto3 client's usual path, {direct:.0f}/s on the stack's direct path.")
    print("  One message's real requests and workflow states, priced at what each costs an "
          "idle embedded AWS (a ceiling as if our own code cost nothing), and where the "
          "stack's CPU went while it ran (thread CPU time inside moto, inside our handlers):")
    priced: dict[str, ceiling.Priced] = {}
    for run in runs:
        channel = run.label.split(",")[0]
        if channel not in priced and run.calls:
            priced[channel] = found = ceiling.price(run.calls, run.count, costs)
            print(f"    {channel}:")
            for name, per, unit in found.rows:
                print(f"      {name:<34} {per:6.2f} x {unit:5.2f} ms = {per * unit:6.2f} ms")
            print(f"      {'the embedded AWS alone, idle':<34} {found.ms:24.1f} ms per message"
                  f" -> at most {found.messages_per_second:.1f} messages/s")
            if found.unpriced:
                print(f"      (priced by a stand-in: {', '.join(found.unpriced)})")
        if channel in priced:
            crowd = ""
            if run.per_message == [] and run.calls:  # a concurrent run
                busy = ceiling.price(run.calls, run.count, crowded)
                crowd = (f"; with {SENDERS} callers at once the embedded AWS alone takes "
                         f"{busy.ms:.1f} ms per message (at most "
                         f"{busy.messages_per_second:.1f}/s): "
                         f"{100 * run.rate / busy.messages_per_second:.0f}% of that ceiling")
            print(f"      {run.label}: {run.rate:.1f}/s = "
                  f"{100 * run.rate / priced[channel].messages_per_second:.0f}% of the idle "
                  f"ceiling{crowd}{cpu_split(run)}")
    if problems:
        print("\n  THE WORKLOAD FAILED; the figures above are not valid:", file=sys.stderr)
        for problem in problems:
            print(f"    {problem}", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    report(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
