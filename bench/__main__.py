"""`make bench`: DynamoDB calls per API operation, handler import times, what list reads
cost as tickets grow (bench/reads.py), and sustained load on the local stack (bench/load.py).

Figures, not assertions: record them in docs/performance.md."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HANDLERS = ["api.handler", "rules.handler", "stream.handler", "ingest_email.handler",
            "deliver.handler", "webhooks_in.handler", "sla_scheduler.handler",
            "sla_escalation.handler"]


def import_seconds(module: str, runs: int = 5) -> float:
    code = (f"import time; t = time.perf_counter(); import {module}; "
            "print(time.perf_counter() - t)")
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'functions'}:{ROOT}", "TABLE_NAME": "bench",
           "AWS_DEFAULT_REGION": "us-east-1"}
    times = [float(subprocess.run([sys.executable, "-c", code], env=env, check=True,
                                  capture_output=True, text=True).stdout) for _ in range(runs)]
    return min(times)


def dynamodb_calls() -> list[tuple[str, Counter[str]]]:
    import boto3
    from moto import mock_aws

    sys.path[:0] = [str(ROOT / "functions"), str(ROOT)]
    from api import deps
    from api.handler import handler
    from helpdesk.inputs import TicketCreate
    from helpdesk.service import Helpdesk
    from helpdesk.store.dynamo import DynamoTable
    from tests.support.apigw import basic, proxy_event
    from tests.support.template import table_create_args

    calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(**table_create_args("bench"))
        client.meta.events.register("before-call.dynamodb", count)
        desk = Helpdesk(DynamoTable(client, "bench"))
        desk.bootstrap("admin@example.com", "bench-key")
        deps.helpdesk.use(desk)
        auth = basic("admin@example.com", "bench-key")
        results = []

        def measure(label: str, method: str, path: str, body: Any = None) -> Any:
            calls.clear()
            answer = handler(proxy_event(method, "/api/v2" + path, body, auth), None)
            assert answer["statusCode"] < 400, answer["body"]
            results.append((label, Counter(calls)))
            return answer

        admin = desk.users.authenticate("admin@example.com", "bench-key")
        for number in range(20):
            desk.tickets.create(admin, TicketCreate(title=f"t{number}",
                                                    user_email=f"c{number}@x.io"))
        measure("GET /statuses/", "GET", "/statuses/")
        created = measure("POST /tickets/ (new customer)", "POST", "/tickets/",
                          {"title": "Bench", "description": "text", "user_email": "new@x.io"})
        ticket_id = json.loads(created["body"])["data"]["id"]
        measure("POST /tickets/ (known customer)", "POST", "/tickets/",
                {"title": "Bench", "user_email": "new@x.io"})
        measure("GET /tickets/{id}/", "GET", f"/tickets/{ticket_id}/")
        measure("PUT /tickets/{id}/", "PUT", f"/tickets/{ticket_id}/", {"status_id": "pending"})
        measure("POST /tickets/{id}/posts/", "POST", f"/tickets/{ticket_id}/posts/",
                {"text": "reply"})
        measure("GET /tickets/{id}/posts/", "GET", f"/tickets/{ticket_id}/posts/")
        measure("GET /tickets/{id}/audit/", "GET", f"/tickets/{ticket_id}/audit/")
        measure("GET /tickets/ (22 tickets)", "GET", "/tickets/")
        measure("GET /tickets/?status_id=pending", "GET", "/tickets/?status_id=pending")
        measure("GET /users/", "GET", "/users/")
        return results


def main() -> None:
    from bench import channels, load, mail, reads, rules, sla

    print("DynamoDB calls per API operation (auth + rate limit included):")
    for label, counts in dynamodb_calls():
        detail = ", ".join(f"{name} {n}" for name, n in sorted(counts.items()))
        print(f"  {label:<36} {sum(counts.values()):>3}  ({detail})")
    print("\nCold import time, best of 5 (each in a fresh interpreter):")
    baseline = import_seconds("boto3")
    print(f"  {'import boto3 (baseline)':<36} {baseline * 1000:7.1f} ms")
    for module in HANDLERS:
        try:
            print(f"  {module:<36} {import_seconds(module) * 1000:7.1f} ms")
        except subprocess.CalledProcessError as error:
            print(f"  {module:<36} failed: {error.stderr.strip().splitlines()[-1]}")
    mail.report()
    channels.report()
    rules.report()
    sla.report()
    reads.report([int(size) for size in os.environ.get(
        "BENCH_READ_SIZES", "1000,10000,100000").split(",")])
    # The sustained-load figures take long (10,000 messages per run at a few per second);
    # BENCH_MESSAGES=0 skips them, a smaller number gives a quicker, rougher picture.
    messages = int(os.environ.get("BENCH_MESSAGES", "10000"))
    if messages:
        load.report(messages)


if __name__ == "__main__":
    main()
