"""infra/template.yaml and state_machines/: linted, translated offline, deployed into moto, and
holding the contracts other parts of the project rely on."""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from devstack.aws import (
    TEMPLATE,
    EmbeddedAws,
    StackInfo,
    load_template,
    localize,
    references,
    translate,
)
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
    "SearchIndexFunction": "search_index.handler.handler",
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
    # `-c I`: the informational checks too (stateful resources' policies, ...).
    result = subprocess.run([str(BIN / "cfn-lint"), "--include-checks", "I", "--",
                             str(TEMPLATE)], capture_output=True, text=True, check=False)
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
    assert sorted(indexes) == ["GSI1", "GSI2", "GSI3", "GSI4", "GSI5", "GSI6", "GSI7", "GSI8",
                               "GSI9"]
    for name, index in indexes.items():
        assert [k["AttributeName"] for k in index["KeySchema"]] == [f"{name}PK", f"{name}SK"]
        # The SLA due index carries everything in its sort key, the queue indexes (GSI7..9)
        # name the ticket in theirs: keys only, the cheapest.
        expected = "KEYS_ONLY" if name in ("GSI6", "GSI7", "GSI8", "GSI9") else "ALL"
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


@pytest.mark.parametrize("function", ["StreamFunction", "SearchIndexFunction"])
def test_stream_mapping_reports_item_failures_and_keeps_failed_batches(
        cloudformation: dict[str, Any], function: str):
    (mapping,) = [m for m in _of_type(cloudformation, "AWS::Lambda::EventSourceMapping").values()
                  if m["Properties"]["FunctionName"] == {"Ref": function}]
    props = mapping["Properties"]
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
    (statement,) = [s for s in policy["Properties"]["PolicyDocument"]["Statement"]
                    if s["Effect"] == "Allow"]
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
    for name, role in {**_of_type(cloudformation, "AWS::IAM::Role"),
                       **_of_type(cloudformation, "AWS::IAM::Policy")}.items():
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
        "GSI1", "GSI2", "GSI3", "GSI4", "GSI5", "GSI6", "GSI7", "GSI8", "GSI9"]
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
    # The stream function runs with its hand-written role: our policies, no managed one.
    iam = aws.client("iam")
    role = aws.client("lambda").get_function_configuration(
        FunctionName=stack.function_names["StreamFunction"])["Role"].rsplit("/", 1)[-1]
    assert "StreamFunctionRole" in role
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
    assert sorted(iam.list_role_policies(RoleName=role)["PolicyNames"]) == [
        "StreamFunctionLogs", "StreamFunctionPolicy"]
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


# --- least privilege and hardening ------------------------------------------------------------
# Roles that may reach items of every partition-key prefix (no dynamodb:LeadingKeys condition).
TABLE_WIDE = {
    # The staff API manages every kind of record (tickets, users, organizations, settings,
    # channels, webhooks, rules, rate limits): its actions are restricted, its keys are not.
    "ApiFunctionRole",
}
# AWS managed policies SAM attaches (logs, X-Ray) and the API Gateway logging role's: each
# names its actions, none with a wildcard. Not AWSLambdaDynamoDBExecutionRole (every stream of
# the account): the stream function has a hand-written role instead.
MANAGED_POLICIES = {"AWSLambdaBasicExecutionRole", "AWSXrayWriteOnlyAccess",
                    "AmazonAPIGatewayPushToCloudWatchLogs"}
# Actions IAM authorizes on "*" only (no resource-level permissions), the only ones a
# hand-written statement may grant on "*": stream ARNs listed (nothing read), trace segments.
RESOURCELESS_ACTIONS = {"dynamodb:ListStreams", "xray:PutTraceSegments",
                        "xray:PutTelemetryRecords"}
STREAM_READS = {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"}
# Actions IAM gives dynamodb:LeadingKeys for (the Service Authorization Reference lists it for
# the batch operations too: every key of a batch is checked), so a prefix condition bounds them.
ITEM_ACTIONS = {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
                "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem", "dynamodb:Query",
                "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"}
# Reads and writes no key could limit: dynamodb:LeadingKeys is absent there and ForAllValues
# holds on an empty set.
UNBOUNDED_ACTIONS = {"dynamodb:Scan", "dynamodb:PartiQLSelect", "dynamodb:PartiQLInsert",
                     "dynamodb:PartiQLUpdate", "dynamodb:PartiQLDelete"}


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _role_statements(template: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(role, "policy/statement", statement) of every inline policy of every role, and of
    every AWS::IAM::Policy resource (counted for each role it is attached to)."""
    policies = [(role, policy) for role, resource in _of_type(template, "AWS::IAM::Role").items()
                for policy in resource["Properties"].get("Policies", [])]
    for name, resource in _of_type(template, "AWS::IAM::Policy").items():
        roles = [r["Ref"] for r in resource["Properties"].get("Roles", [])]
        assert roles and not {"Users", "Groups"} & set(resource["Properties"]), name
        policies += [(role, resource["Properties"]) for role in roles]
    found = []
    for role, policy in policies:
        for number, statement in enumerate(_listed(policy["PolicyDocument"]["Statement"])):
            where = f"{policy['PolicyName']}[{number}] {statement.get('Sid', '')}"
            found.append((role, where.strip(), statement))
    return found


def _allowed(template: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = [(role, where, s) for role, where, s in _role_statements(template)
             if s["Effect"] == "Allow"]
    for name, policy in _of_type(template, "AWS::S3::BucketPolicy").items():
        for number, statement in enumerate(policy["Properties"]["PolicyDocument"]["Statement"]):
            if statement["Effect"] == "Allow":
                found.append((name, f"Statement[{number}]", statement))
    return found


def _role_of(template: dict[str, Any], function: str) -> str:
    role = template["Resources"][function]["Properties"]["Role"]
    return str(role["Fn::GetAtt"][0])


def test_no_allow_statement_has_a_wildcard_action(cloudformation: dict[str, Any]):
    for owner, where, statement in _allowed(cloudformation):
        assert "NotAction" not in statement, f"{owner} {where}: NotAction"
        for action in _listed(statement["Action"]):
            assert "*" not in action, f"{owner} {where} allows {action!r}"
    for role, resource in _of_type(cloudformation, "AWS::IAM::Role").items():
        for arn in resource["Properties"].get("ManagedPolicyArns", []):
            name = json.dumps(arn).rstrip('"}').rsplit("/", 1)[-1]
            assert name in MANAGED_POLICIES, f"{role}: managed policy {name}"


def test_only_actions_without_resources_are_granted_on_every_resource(
        cloudformation: dict[str, Any]):
    """A wildcard resource is no wildcard action, but is as wide for what it allows: only
    actions IAM cannot limit to a resource (RESOURCELESS_ACTIONS) get it, alone."""
    for owner, where, statement in _allowed(cloudformation):
        assert "NotResource" not in statement, f"{owner} {where}: NotResource"
        if "*" not in _listed(statement["Resource"]):
            continue
        actions = set(_listed(statement["Action"]))
        assert actions <= RESOURCELESS_ACTIONS, f"{owner} {where}: {sorted(actions)} on *"
        assert _listed(statement["Resource"]) == ["*"], f"{owner} {where}"


def test_only_the_stream_functions_read_a_stream_and_only_the_table_s(
        cloudformation: dict[str, Any]):
    functions = _of_type(cloudformation, "AWS::Lambda::Function")
    roles = {_role_of(cloudformation, f) for f in functions}
    for role in roles:
        arns = cloudformation["Resources"][role]["Properties"].get("ManagedPolicyArns", [])
        assert "AWSLambdaDynamoDBExecutionRole" not in json.dumps(arns), role
    stream_role = _role_of(cloudformation, "StreamFunction")
    assert stream_role == "StreamFunctionRole"  # hand-written: SAM attaches no policy to it
    assert not cloudformation["Resources"][stream_role]["Properties"].get("ManagedPolicyArns")
    readers: dict[str, set[str]] = {}
    for owner, where, statement in _allowed(cloudformation):
        reads = set(_listed(statement["Action"])) & (STREAM_READS | {"dynamodb:ListStreams"})
        if not reads:
            continue
        readers.setdefault(owner, set()).update(reads)
        if reads & STREAM_READS:
            assert _listed(statement["Resource"]) == [
                {"Fn::GetAtt": ["Table", "StreamArn"]}], f"{owner} {where}"
            assert "Condition" not in statement, f"{owner} {where}"
    index_role = _role_of(cloudformation, "SearchIndexFunction")
    assert index_role == "SearchIndexFunctionRole"
    assert not cloudformation["Resources"][index_role]["Properties"].get("ManagedPolicyArns")
    assert readers == {role: STREAM_READS | {"dynamodb:ListStreams"}
                       for role in (stream_role, index_role)}


def test_the_stream_function_may_log_trace_and_do_its_work(cloudformation: dict[str, Any]):
    """SAM gives the other functions logs and X-Ray through managed policies; the stream
    function's own role must give them itself: logs to its own group only, traces since
    the functions are traced (Globals)."""
    granted: dict[str, list[Any]] = {}
    for owner, _, statement in _allowed(cloudformation):
        if owner == "StreamFunctionRole":
            for action in _listed(statement["Action"]):
                granted.setdefault(action, []).extend(_listed(statement["Resource"]))
    group = {"Fn::GetAtt": ["StreamFunctionLogGroup", "Arn"]}
    assert granted.pop("logs:CreateLogStream") == [group]
    assert granted.pop("logs:PutLogEvents") == [group]
    log_group_name = cloudformation["Resources"]["StreamFunctionLogGroup"]["Properties"][
        "LogGroupName"]
    assert log_group_name == {"Fn::Sub": "/aws/lambda/${StreamFunction}"}
    tracing = cloudformation["Resources"]["StreamFunction"]["Properties"]["TracingConfig"]
    assert tracing == {"Mode": "Active"}
    assert granted.pop("xray:PutTraceSegments") == ["*"]
    assert granted.pop("xray:PutTelemetryRecords") == ["*"]
    assert granted.pop("states:StartExecution") == [{"Ref": "TicketEventStateMachine"}]
    assert granted.pop("sqs:SendMessage") == [{"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}]
    # The workflow gate: rules and subscriptions read, an event item marked done (the
    # LeadingKeys of these statements are checked with every other function's).
    table = {"Fn::GetAtt": ["Table", "Arn"]}
    assert granted.pop("dynamodb:UpdateItem") == [table]
    assert granted.pop("dynamodb:Query") == [table, {"Fn::Sub": "${Table.Arn}/index/GSI1"}]
    assert set(granted) == STREAM_READS | {"dynamodb:ListStreams"}  # nothing else
    trust = cloudformation["Resources"]["StreamFunctionRole"]["Properties"][
        "AssumeRolePolicyDocument"]["Statement"]
    assert trust == [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                      "Action": "sts:AssumeRole"}]


def test_the_search_indexer_writes_token_entries_only_and_reads_ticket_texts(
        cloudformation: dict[str, Any]):
    granted: dict[str, list[Any]] = {}
    for owner, _, statement in _allowed(cloudformation):
        if owner == "SearchIndexFunctionRole" and "Condition" in statement:
            keys = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
            for action in _listed(statement["Action"]):
                granted.setdefault(action, []).extend(keys)
    assert granted == {"dynamodb:BatchWriteItem": ["TOKEN#*"], "dynamodb:GetItem": ["TICKET#*"]}
    group = cloudformation["Resources"]["SearchIndexFunctionLogGroup"]["Properties"]
    assert group["LogGroupName"] == {"Fn::Sub": "/aws/lambda/${SearchIndexFunction}"}
    (mapping,) = [m for m in _of_type(cloudformation, "AWS::Lambda::EventSourceMapping").values()
                  if m["Properties"]["FunctionName"] == {"Ref": "SearchIndexFunction"}]
    patterns = [json.loads(f["Pattern"]) for f in
                mapping["Properties"]["FilterCriteria"]["Filters"]]
    wanted = ["ticket", "ticket_search", "user", "organization"]
    assert patterns[0]["dynamodb"]["NewImage"]["item_type"]["S"] == wanted
    assert patterns[1]["dynamodb"]["OldImage"]["item_type"]["S"] == wanted


def test_table_grants_are_limited_to_partition_key_prefixes(cloudformation: dict[str, Any]):
    for role, where, statement in _allowed(cloudformation):
        actions = set(_listed(statement["Action"]))
        unbounded = actions & UNBOUNDED_ACTIONS
        assert not unbounded, f"{role} {where}: {unbounded}"
        if not actions & ITEM_ACTIONS:
            continue
        resources = json.dumps(statement["Resource"])
        assert "Table" in resources and "/stream/" not in resources, f"{role} {where}"
        if role in TABLE_WIDE:
            continue
        condition = statement.get("Condition", {}).get("ForAllValues:StringLike", {})
        prefixes = _listed(condition.get("dynamodb:LeadingKeys", []))
        assert prefixes, f"{role} {where}: {sorted(actions)} on {resources} for every key"
        assert "*" not in prefixes and all(p[:1] != "*" for p in prefixes), f"{role} {where}"


def test_bucket_grants_name_key_prefixes(cloudformation: dict[str, Any]):
    for owner, where, statement in _allowed(cloudformation):
        if not any(a.startswith("s3:") for a in _listed(statement["Action"])):
            continue
        for resource in _listed(statement["Resource"]):
            text = resource.get("Fn::Sub", "") if isinstance(resource, dict) else resource
            assert isinstance(text, str) and re.fullmatch(
                r"\$\{Bucket\.Arn\}/[a-z]+/\*", text), (
                f"{owner} {where}: {resource} is more than one key prefix of the bucket")


def test_every_function_logs_to_its_own_group_with_retention(cloudformation: dict[str, Any]):
    groups = _of_type(cloudformation, "AWS::Logs::LogGroup")
    named = {json.dumps(g["Properties"].get("LogGroupName")): g for g in groups.values()}
    for function in _of_type(cloudformation, "AWS::Lambda::Function"):
        group = named.get(json.dumps({"Fn::Sub": f"/aws/lambda/${{{function}}}"}))
        assert group is not None, f"{function}: no log group /aws/lambda/<its name>"
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}, function
    assert cloudformation["Parameters"]["LogRetentionInDays"]["Default"] == 30


def test_api_writes_an_access_log(cloudformation: dict[str, Any]):
    (stage,) = _of_type(cloudformation, "AWS::ApiGateway::Stage").values()
    setting = stage["Properties"]["AccessLogSetting"]
    (group,) = references(setting["DestinationArn"])
    assert cloudformation["Resources"][group]["Type"] == "AWS::Logs::LogGroup"
    assert "RetentionInDays" in cloudformation["Resources"][group]["Properties"]
    assert "$context.requestId" in setting["Format"] and "$context.status" in setting["Format"]


def test_bucket_refuses_requests_without_tls(cloudformation: dict[str, Any]):
    (policy,) = _of_type(cloudformation, "AWS::S3::BucketPolicy").values()
    denials = [s for s in policy["Properties"]["PolicyDocument"]["Statement"]
               if s["Effect"] == "Deny" and s.get("Condition") == {
                   "Bool": {"aws:SecureTransport": "false"}}]
    assert denials, "no statement denies requests without TLS"
    (deny,) = denials
    assert deny["Principal"] == "*" and deny["Action"] == "s3:*"
    assert sorted(json.dumps(r) for r in deny["Resource"]) == sorted([
        json.dumps({"Fn::GetAtt": ["Bucket", "Arn"]}), json.dumps({"Fn::Sub": "${Bucket.Arn}/*"})])


def test_data_is_protected_from_deletion_and_plain_transport(sam: dict[str, Any]):
    resources = sam["Resources"]
    assert resources["Table"]["Properties"]["DeletionProtectionEnabled"] is True
    assert resources["Bucket"]["Properties"]["OwnershipControls"] == {
        "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    for name in ("Table", "Bucket", "DeadLetterQueue"):
        assert (resources[name]["DeletionPolicy"], resources[name]["UpdateReplacePolicy"]) == (
            "Retain", "Retain"), name
    assert resources["InboundRule"]["Properties"]["Rule"]["TlsPolicy"] == "Require"


# What each function's code was seen calling, table operation -> partition keys (a prefix up to
# "#", or the whole key): recorded by wrapping the Table adapters (store/dynamo.py and
# store/memory.py) while tests/e2e, tests/infra, the channel, mail, rules, SLA, notify and
# webhook tests ran, each call attributed to the function whose handler or entry point was on
# the stack. "Query@GSI1" is a query of that index (keys: the index's partition key). A
# transaction counts as its parts. The template may grant more (paths no test takes); it must
# not grant less. The API is table-wide and not listed; the stream function makes no table
# call (it reads the stream, see test_only_the_stream_function_reads_a_stream_and_only_the_table_s).
CALLS_SEEN = {
    "DeliverFunction": {
        "GetItem": "BOUNCE# CHANNEL# TICKET# USER#",
        "PutItem": "CHANMSG# MAIL# QUEUE# TICKET#",
        "Query": "TICKET#",
        "DeleteItem": "QUEUE#",
        "UpdateItem": "QCOUNT#",
    },
    "EffectsFunction": {
        "GetItem": "BOUNCE# CHANNEL# MAIL# NOTIFY# TICKET#",
        "PutItem": "AUTOREPLY# MAIL# NOTIFY# QUEUE#",
        "Query": "TICKET#",
        "DeleteItem": "QUEUE#",
        "UpdateItem": "QCOUNT#",
    },
    "IngestEmailFunction": {
        "DeleteItem": "BOUNCE# QUEUE#",
        "GetItem": "CONTACT# DICT# MAIL# ORG# ORGDOMAIN# SESMAIL# TICKET# USER#",
        "PutItem": "BOUNCE# CONTACT# MAIL# QUEUE# SESMAIL# TICKET# USER#",
        "Query": "CALENDARS SLAPOLICIES",
        "UpdateItem": "COUNTER QCOUNT#",
    },
    "RulesFunction": {
        "GetItem": "DICT# ORG# TEMPLATES TICKET# USER#",
        "PutItem": "QUEUE# TICKET#",
        "Query": "CALENDARS DICT# RULES SLAPOLICIES TICKET#",
        "Query@GSI1": "USERS# WEBHOOKS",
        "Query@GSI3": "TOWNER#",
        "UpdateItem": "COUNTER QCOUNT#",
        "DeleteItem": "QUEUE#",
    },
    "SlaEscalationFunction": {
        "GetItem": "DICT# TICKET# USER#",
        "PutItem": "QUEUE# TICKET#",
        "Query": "CALENDARS SLAPOLICIES",
        "Query@GSI1": "USERS#",
        "DeleteItem": "QUEUE#",
        "UpdateItem": "QCOUNT#",
    },
    "SlaSchedulerFunction": {
        "DeleteItem": "PERIODIC# QUEUE#",
        "GetItem": "DICT# TICKET# USER#",
        "PutItem": "PERIODIC PERIODIC# QUEUE# TICKET#",
        "Query": "PERIODIC# RULES",
        "Query@GSI1": "TSTATUS#",
        "Query@GSI5": "TICKETS",
        "Query@GSI6": "SLADUE#",
        "UpdateItem": "COUNTER QCOUNT#",
    },
    "WebhooksInFunction": {
        "GetItem": "CHANEVT# CHANMSG# CHANNEL# CONTACT# CONV# DICT# ORGDOMAIN# TICKET# USER#",
        "PutItem": "CHANEVT# CHANMSG# CONTACT# CONV# QUEUE# TICKET# USER#",
        "Query": "CALENDARS SLAPOLICIES",
        "UpdateItem": "COUNTER QCOUNT#",
        "DeleteItem": "QUEUE#",
    },
    "WebhooksOutFunction": {
        "GetItem": "WEBHOOK#",
        "PutItem": "WEBHOOK#",
    },
}


def _granted(template: dict[str, Any], role: str, action: str, key: str,
             index: str | None) -> bool:
    resource = json.dumps({"Fn::Sub": f"${{Table.Arn}}/index/{index}"} if index
                          else {"Fn::GetAtt": ["Table", "Arn"]})
    for owner, _, statement in _allowed(template):
        if owner != role or f"dynamodb:{action}" not in _listed(statement["Action"]):
            continue
        if resource not in [json.dumps(r) for r in _listed(statement["Resource"])]:
            continue
        condition = statement.get("Condition", {}).get("ForAllValues:StringLike", {})
        patterns = _listed(condition.get("dynamodb:LeadingKeys", ["*"]))
        if any(fnmatch.fnmatchcase(key, p) for p in patterns):
            return True
    return False


@pytest.mark.parametrize("function", sorted(CALLS_SEEN))
def test_each_function_may_make_the_table_calls_its_code_makes(
        cloudformation: dict[str, Any], function: str):
    role = _role_of(cloudformation, function)
    for call, prefixes in CALLS_SEEN[function].items():
        action, _, index = call.partition("@")
        for prefix in prefixes.split():
            key = prefix + "000000000001" if prefix.endswith("#") else prefix
            assert _granted(cloudformation, role, action, key, index or None), (
                f"{function}: {role} does not allow dynamodb:{action} on {key}"
                + (f" in {index}" if index else ""))
