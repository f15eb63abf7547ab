"""First-run setup of a deployed stack: reference lists and the main administrator.

    .venv/bin/python -m devstack.bootstrap --table <TableName output> --email you@example.com

Uses your AWS credentials; prints the administrator's API key (only its hash is stored).
Running it again is harmless; it issues a new key for the same administrator."""

from __future__ import annotations

import argparse
import os

import boto3

from helpdesk.aws.environment import DeskSettings
from helpdesk.aws.runtime import desk_settings
from helpdesk.service import Helpdesk
from helpdesk.store.dynamo import DynamoTable
from helpdesk.users import new_api_key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", required=True, help="the stack's TableName output")
    parser.add_argument("--email", required=True, help="the main administrator's e-mail")
    parser.add_argument("--region", default=None)
    args = parser.parse_args()
    client = boto3.client("dynamodb", region_name=args.region)
    api_key = new_api_key()
    settings = DeskSettings.model_validate({**os.environ, "TABLE_NAME": args.table})
    Helpdesk(DynamoTable(client, settings.table_name),
             desk_settings(settings)).bootstrap(args.email, api_key)
    print(f"administrator: {args.email}\napi key:       {api_key}")


if __name__ == "__main__":
    main()
