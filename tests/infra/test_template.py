"""infra/template.yaml and state_machines/: linted, translated offline, deployed into moto, and
holding the contracts other parts of the project rely on."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from devstack.aws import TEMPLATE, EmbeddedAws, StackInfo, load_template, localize, translate
from devstack.lambda_runtime import resolve_handler

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ASL_FILES = sorted((ROOT / "state_machines").glob("*.asl.json"))
HANDLERS = {
    "ApiFunction": "api.handler.handler",
    "IngestEmailFunction": "ingest_email.handler.handler",
    "WebhooksInFunction": "webhooks_in.handler.handler",
    "RulesFunction": "rules.handler.handler",
    "SlaSchedulerFunction": "sla_scheduler.handler.handler",
    "StreamFunction": "stream.handler.handler",
    "DeliverFunction": "deliver.handler.handler",
    "WebhooksOutFunction": "webhooks_out.handler.handler",
    "EffectsFunction": "effects.handler.handler",
    "SlaEscalationFunction": "sla_escalation.handler.handler",
}
GLOBAL_ENVIRONMENT = {"TABLE_NAME", "BUCKET_NAME", "TICKET_PREFIX", "RATE_LIMIT_PER_MINUTE",
                      "RATE_LIMIT_BLOCK_SECONDS", "POWERTOOLS_SERVICE_NAME", "LOG_LEVEL"}


@pytest.fixture(scope="module")
def sam() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module")
def cloudformation(sam: dict[str, Any]) -> dict[str, Any]:
    local = json.loads(json.dumps(sam))
    localize(local, TEMPLATE.parent, "s3://bucket/bundle.zip")  # what `sam build` would do
    return translate(local)


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


# --- linters --------------------------------------------------------------------------------
def test_cfn_lint_is_clean():
    result = subprocess.run([str(BIN / "cfn-lint"), str(TEMPLATE)], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", ASL_FILES, ids=lambda p: p.name)
def test_statelint_is_clean(path: Path):
    result = subprocess.run([str(BIN / "statelint"), str(path)], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_statelint_would_catch_a_broken_file(tmp_path: Path):
    broken = tmp_path / "broken.asl.json"
    broken.write_text(json.dumps({"StartAt": "Nowhere", "States": {
        "Somewhere": {"Type": "Pass", "End": True}}}))
    result = subprocess.run([str(BIN / "statelint"), str(broken)], capture_output=True,
                            text=True, check=False)
    assert result.returncode != 0


# --- contracts ------------------------------------------------------------------------------
def test_one_bundle_and_the_agreed_handlers(sam: dict[str, Any]):
    assert sam["Globals"]["Function"]["CodeUri"] == "../functions/"
    functions = _of_type(sam, "AWS::Serverless::Function")
    assert {k: r["Properties"]["Handler"] for k, r in functions.items()} == HANDLERS
    assert all("CodeUri" not in r["Properties"] for r in functions.values())
    for handler in HANDLERS.values():
        assert callable(resolve_handler(handler))


def test_globals_carry_the_environment(sam: dict[str, Any]):
    function = sam["Globals"]["Function"]
    assert set(function["Environment"]["Variables"]) >= GLOBAL_ENVIRONMENT
    assert (function["Runtime"], function["Architectures"]) == ("python3.12", ["arm64"])
    stream = sam["Resources"]["StreamFunction"]["Properties"]["Environment"]["Variables"]
    assert stream["TICKET_EVENT_STATE_MACHINE_ARN"] == {"Ref": "TicketEventStateMachine"}
    assert {"TicketPrefix", "RateLimitPerMinute", "RateLimitBlockSeconds", "LogLevel"} <= set(
        sam["Parameters"])


def test_each_function_is_given_what_its_settings_model_requires(sam: dict[str, Any]):
    """Every function's environment in the template (globals and its own) satisfies its
    settings model (functions/<name>/settings.py): a required variable the template forgot
    fails here, not at the function's first cold start."""
    import importlib

    from pydantic import ValidationError

    from helpdesk.aws.environment import CommonSettings

    shared = sam["Globals"]["Function"]["Environment"]["Variables"]
    for logical_id, handler in HANDLERS.items():
        own = sam["Resources"][logical_id]["Properties"].get("Environment", {}).get(
            "Variables", {})
        given = {name: _resolved(sam, name, value) for name, value in {**shared, **own}.items()}
        package = handler.split(".")[0]
        model = importlib.import_module(f"{package}.settings").Settings
        assert issubclass(model, CommonSettings), package
        try:
            model.model_validate(given)
        except ValidationError as missing:
            pytest.fail(f"{logical_id}: {missing}")


def _resolved(sam: dict[str, Any], name: str, value: Any) -> str:
    """A parameter's default; what CloudFormation resolves otherwise (a resource's name or
    ARN) is some non-empty string."""
    if isinstance(value, dict) and value.get("Ref") in sam["Parameters"]:
        return str(sam["Parameters"][value["Ref"]].get("Default", ""))
    return value if isinstance(value, str) else f"resolved {name}"


def test_table_is_declared_as_the_key_design_needs(sam: dict[str, Any]):
    (table,) = _of_type(sam, "AWS::DynamoDB::Table").values()
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == [{"AttributeName": "PK", "KeyType": "HASH"},
                                  {"AttributeName": "SK", "KeyType": "RANGE"}]
    indexes = {i["IndexName"]: i for i in props["GlobalSecondaryIndexes"]}
    assert sorted(indexes) == ["GSI1", "GSI2", "GSI3", "GSI4", "GSI5", "GSI6"]
    for name, index in indexes.items():
        assert [k["AttributeName"] for k in index["KeySchema"]] == [f"{name}PK", f"{name}SK"]
        # The SLA due index carries everything in its sort key: keys only, the cheapest.
        expected = "KEYS_ONLY" if name == "GSI6" else "ALL"
        assert index["Projection"] == {"ProjectionType": expected}
    assert all(a["AttributeType"] == "S" for a in props["AttributeDefinitions"])
    assert props["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_state_machine_files_and_substitutions_match(sam: dict[str, Any]):
    machines = {Path(r["Properties"]["DefinitionUri"]).name: r["Properties"]
                for r in _of_type(sam, "AWS::Serverless::StateMachine").values()}
    assert set(machines) == {p.name for p in ASL_FILES}
    for name, props in machines.items():
        placeholders = set(re.findall(r"\$\{(\w+)\}", (ROOT / "state_machines" / name)
                                      .read_text()))
        assert placeholders == set(props["DefinitionSubstitutions"]), name


# --- offline translation --------------------------------------------------------------------
def test_translates_offline(cloudformation: dict[str, Any]):
    types = [r["Type"] for r in cloudformation["Resources"].values()]
    assert types.count("AWS::Lambda::Function") == len(HANDLERS)
    assert types.count("AWS::StepFunctions::StateMachine") == len(ASL_FILES)
    assert not [t for t in types if t.startswith("AWS::Serverless::")]


def test_api_routes(cloudformation: dict[str, Any]):
    (api,) = _of_type(cloudformation, "AWS::ApiGateway::RestApi").values()
    paths = api["Properties"]["Body"]["paths"]
    assert {"/api/v2", "/api/v2/{proxy+}", "/webhooks/{proxy+}"} <= set(paths)
    assert all("x-amazon-apigateway-any-method" in paths[p] for p in paths)


def test_stream_mapping_reports_item_failures_and_keeps_failed_batches(
        cloudformation: dict[str, Any]):
    (mapping,) = _of_type(cloudformation, "AWS::Lambda::EventSourceMapping").values()
    props = mapping["Properties"]
    assert props["FunctionName"] == {"Ref": "StreamFunction"}
    assert props["EventSourceArn"] == {"Fn::GetAtt": ["Table", "StreamArn"]}
    assert props["StartingPosition"] == "LATEST"
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["BisectBatchOnFunctionError"] is True
    assert props["MaximumRetryAttempts"] >= 1
    assert props["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["DeadLetterQueue", "Arn"]}


def test_async_functions_have_a_dead_letter_queue(cloudformation: dict[str, Any]):
    for name in ("IngestEmailFunction", "SlaSchedulerFunction"):
        config = cloudformation["Resources"][name]["Properties"]["DeadLetterConfig"]
        assert config["TargetArn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}


def test_scheduler_runs_every_minute(cloudformation: dict[str, Any]):
    (rule,) = _of_type(cloudformation, "AWS::Events::Rule").values()
    assert rule["Properties"]["ScheduleExpression"] == "rate(1 minute)"
    assert rule["Properties"]["Targets"][0]["Arn"] == {
        "Fn::GetAtt": ["SlaSchedulerFunction", "Arn"]}


def test_ses_stores_inbound_mail_then_invokes_the_ingest(cloudformation: dict[str, Any]):
    (rule,) = _of_type(cloudformation, "AWS::SES::ReceiptRule").values()
    store, invoke = rule["Properties"]["Rule"]["Actions"]
    assert store["S3Action"] == {"BucketName": {"Ref": "Bucket"}, "ObjectKeyPrefix": "inbound/"}
    assert invoke["LambdaAction"]["FunctionArn"] == {
        "Fn::GetAtt": ["IngestEmailFunction", "Arn"]}
    assert rule["Properties"]["Rule"]["ScanEnabled"] is True
    (policy,) = _of_type(cloudformation, "AWS::S3::BucketPolicy").values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "ses.amazonaws.com"}
    assert statement["Action"] == "s3:PutObject"
    assert "/inbound/*" in json.dumps(statement["Resource"])
    permission = cloudformation["Resources"]["SesInvokeIngestPermission"]["Properties"]
    assert permission["Principal"] == "ses.amazonaws.com"
    ingest_role = json.dumps(cloudformation["Resources"]["IngestEmailFunctionRole"])
    assert "s3:GetObject" in ingest_role


def test_only_the_delivery_and_effects_functions_may_send_mail(cloudformation: dict[str, Any]):
    senders = {name for name, role in _of_type(cloudformation, "AWS::IAM::Role").items()
               if "ses:SendRawEmail" in json.dumps(role)}
    assert senders == {"DeliverFunctionRole", "EffectsFunctionRole"}


def test_no_role_grants_everything(cloudformation: dict[str, Any]):
    for name, role in _of_type(cloudformation, "AWS::IAM::Role").items():
        text = json.dumps(role)
        assert '"Action": "*"' not in text and "AdministratorAccess" not in text, name
        assert not re.search(r'"Action": "\w+:\*"', text), name
    machine_role = json.dumps(cloudformation["Resources"]["TicketEventStateMachineRole"])
    assert "dynamodb:UpdateItem" in machine_role and "dynamodb:DeleteItem" not in machine_role


def test_outputs(sam: dict[str, Any]):
    assert {"ApiUrl", "TableName", "BucketName", "TicketEventStateMachineArn"} <= set(
        sam["Outputs"])


# --- deployed into moto -------------------------------------------------------------------
def test_deploys_with_the_table_as_declared(aws: EmbeddedAws, stack: StackInfo):
    dynamodb = aws.client("dynamodb")
    table = dynamodb.describe_table(TableName=stack.table_name)["Table"]
    assert sorted(i["IndexName"] for i in table["GlobalSecondaryIndexes"]) == [
        "GSI1", "GSI2", "GSI3", "GSI4", "GSI5", "GSI6"]
    assert table["StreamSpecification"] == {"StreamEnabled": True,
                                            "StreamViewType": "NEW_AND_OLD_IMAGES"}
    ttl = dynamodb.describe_time_to_live(TableName=stack.table_name)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires_at")
    backups = dynamodb.describe_continuous_backups(TableName=stack.table_name)
    assert backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"][
        "PointInTimeRecoveryStatus"] == "ENABLED"


def test_deployed_wiring(aws: EmbeddedAws, stack: StackInfo):
    assert stack.handlers == HANDLERS and set(stack.function_names) == set(HANDLERS)
    assert stack.schedules == {"SlaSchedulerFunction": 60.0}
    assert set(stack.outputs) >= {"TableName", "BucketName", "TicketEventStateMachineArn"}
    machine = stack.state_machine_arns["TicketEventStateMachine"]
    assert stack.environment["TICKET_EVENT_STATE_MACHINE_ARN"] == machine
    definition = aws.client("stepfunctions").describe_state_machine(
        stateMachineArn=machine)["definition"]
    assert "${" not in definition and stack.table_name in definition
    (mapping,) = aws.client("lambda").list_event_source_mappings(
        FunctionName=stack.function_names["StreamFunction"])["EventSourceMappings"]
    table = aws.client("dynamodb").describe_table(TableName=stack.table_name)["Table"]
    assert mapping["EventSourceArn"] == table["LatestStreamArn"]
    assert aws.client("s3").head_bucket(Bucket=stack.bucket_name)
    assert "ApiUrl" not in stack.outputs and "Api" in stack.dropped_resources


def test_the_api_app_leaves_the_service_logger_to_powertools():
    """All functions share one process locally and the Chalice app is named like the
    Powertools service: Chalice must not put its plain handler on that logger."""
    import logging

    from aws_lambda_powertools import Logger

    import api.app

    assert api.app.app.app_name == "helpdesk"
    assert not [h for h in logging.getLogger("helpdesk").handlers
                if type(h) is logging.StreamHandler and h.formatter
                and not hasattr(h.formatter, "append_keys")]
    Logger(service="helpdesk").append_keys(checked=True)  # raised with Chalice's handler


def test_a_direct_invocation_runs_the_real_handler(aws: EmbeddedAws, stack: StackInfo):
    answer = aws.client("lambda").invoke(
        FunctionName=stack.function_names["SlaSchedulerFunction"],
        Payload=json.dumps({"time": "2026-11-23T09:00:00Z"}).encode())
    assert "FunctionError" not in answer
    answered = json.loads(answer["Payload"].read())
    # No periodic rules on a fresh stack: the tick reads the rules and nothing else.
    assert answered["due"] == 0 and answered["periodic"]["rules"] == 0
    assert answered["periodic"]["claimed"] is False


def test_the_lambda_bundle_requirements_mirror_the_runtime_dependencies():
    """sam build installs functions/requirements.txt: a runtime dependency missing there
    imports fine in tests and fails on AWS."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {d.split(";")[0].strip() for d in project["dependencies"]}
    bundle = {line.split("#")[0].strip()
              for line in (ROOT / "functions" / "requirements.txt").read_text().splitlines()
              if line.split("#")[0].strip()}
    assert {d for d in runtime if not d.startswith("boto3==")} == bundle  # Lambda ships boto3
