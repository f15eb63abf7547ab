"""The table as infra/template.yaml defines it: tests create it from there, never from a
second hand-written schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cfnlint.decode import decode

TEMPLATE = Path(__file__).resolve().parents[2] / "infra" / "template.yaml"


def table_create_args(table_name: str) -> dict[str, Any]:
    template, problems = decode(str(TEMPLATE))
    assert template is not None, problems
    tables = [r["Properties"] for r in template["Resources"].values()
              if r["Type"] == "AWS::DynamoDB::Table"]
    assert len(tables) == 1, "the template defines exactly one table"
    props = tables[0]
    args: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes"):
        args["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    return args
