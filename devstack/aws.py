"""The embedded AWS: moto in server mode, in this process, with the stack of
infra/template.yaml created in it and Lambda invocations running the real handlers.

Facts this relies on are in shared/LOCAL_AWS.md (moto 5.2): Lambda without Docker only echoes,
so `_invoke_lambda` is replaced; CloudFormation cannot create API Gateway resources (the
local gateway plays that part); state machines made by CloudFormation do not execute and keep
their `${...}` placeholders, so they are created again in the executing backend.
"""

from __future__ import annotations

import copy
import importlib
import io
import json
import logging
import os
import re
import socket
import time
import traceback
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "infra" / "template.yaml"
REGION = "us-east-1"
ACCOUNT = "123456789012"
CODE_BUCKET = "local-lambda-code"
# Resource types moto's CloudFormation cannot create; API Gateway is played by devstack.gateway.
LOCAL_ONLY_SKIPPED = ("AWS::ApiGateway::",)


@dataclass
class StackInfo:
    stack_name: str
    table_name: str
    bucket_name: str
    dead_letter_queue_url: str
    state_machine_arns: dict[str, str] = field(default_factory=dict)
    function_names: dict[str, str] = field(default_factory=dict)
    handlers: dict[str, str] = field(default_factory=dict)
    schedules: dict[str, float] = field(default_factory=dict)  # function logical id -> seconds


class LambdaContext:
    """What a handler may read from its context object."""

    def __init__(self, function_name: str, arn: str, memory: int, timeout: int) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = arn
        self.memory_limit_in_mb = memory
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _run_handler_in_process(function: Any, event: Any) -> tuple[str, bool, str]:
    """Replacement for moto's LambdaFunction._invoke_lambda: import and call the handler."""
    module_name, _, attribute = function.handler.rpartition(".")
    context = LambdaContext(function.function_name, function.function_arn,
                            int(function.memory_size or 128), int(function.timeout or 3))
    payload = json.loads(event) if isinstance(event, str | bytes) else event
    try:
        handler = getattr(importlib.import_module(module_name), attribute)
        result = handler(payload if payload is not None else {}, context)
        return json.dumps(result, default=str), False, ""
    except Exception as error:
        trace = traceback.format_exc()
        print(trace, flush=True)
        body = {"errorType": type(error).__name__, "errorMessage": str(error),
                "stackTrace": trace.splitlines()}
        return json.dumps(body), True, trace


def _patch_lambda() -> None:
    from moto.awslambda.models import LambdaFunction

    def invoke(self: Any, event: Any = None) -> tuple[str, bool, str]:
        return _run_handler_in_process(self, event)

    LambdaFunction._invoke_lambda = invoke  # type: ignore[method-assign]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class EmbeddedAws:
    def __init__(self, port: int = 0, region: str = REGION) -> None:
        self.port = port or _free_port()
        self.region = region
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        self._server: Any = None

    def start(self) -> EmbeddedAws:
        from moto.server import ThreadedMotoServer

        os.environ.update({
            "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": self.region, "AWS_REGION": self.region,
            "AWS_ENDPOINT_URL": self.endpoint_url, "MOTO_PORT": str(self.port),
            "MOTO_ALLOW_NONEXISTENT_REGION": "true", "TZ": "UTC",
        })
        time.tzset()
        _patch_lambda()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per AWS call
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        import requests

        requests.post(f"{self.endpoint_url}/moto-api/config",
                      json={"stepfunctions": {"execute_state_machine": True}}, timeout=10)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, region_name=self.region, endpoint_url=self.endpoint_url)

    def __enter__(self) -> EmbeddedAws:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    from cfnlint.decode import decode

    template, problems = decode(str(path))
    if template is None:
        raise ValueError(f"cannot read {path}: {problems}")
    return json.loads(json.dumps(template))  # plain dicts, not cfn-lint's node types


def translate(template: dict[str, Any], code_uri: str) -> dict[str, Any]:
    """SAM -> CloudFormation offline, with local paths made deployable."""
    from samtranslator.translator.transform import transform

    sam = copy.deepcopy(template)
    sam.setdefault("Globals", {}).setdefault("Function", {})["CodeUri"] = code_uri
    for resource in sam["Resources"].values():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function" and "CodeUri" in properties:
            properties["CodeUri"] = code_uri
        if resource["Type"] == "AWS::Serverless::StateMachine" and "DefinitionUri" in properties:
            asl = (TEMPLATE.parent / properties.pop("DefinitionUri")).resolve()
            properties["Definition"] = json.loads(asl.read_text())

    class NoPolicies:
        def load(self) -> dict[str, Any]:
            return {}

    return transform(sam, {}, NoPolicies())


def deploy_stack(aws: EmbeddedAws, stack_name: str = "helpdesk",
                 parameters: dict[str, str] | None = None) -> StackInfo:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=CODE_BUCKET)
    s3.put_object(Bucket=CODE_BUCKET, Key="bundle.zip", Body=_placeholder_zip())
    sam = load_template()
    cloudformation = translate(sam, f"s3://{CODE_BUCKET}/bundle.zip")
    schedules = _schedules(cloudformation)
    cloudformation["Resources"] = _without_local_only(cloudformation["Resources"])
    cloudformation.pop("Outputs", None)  # ApiUrl refers to the skipped API
    cfn = aws.client("cloudformation")
    cfn.create_stack(
        StackName=stack_name,
        TemplateBody=json.dumps(cloudformation),
        Parameters=[{"ParameterKey": k, "ParameterValue": v}
                    for k, v in (parameters or {}).items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    physical = _physical_ids(cfn, stack_name)
    info = StackInfo(
        stack_name=stack_name,
        table_name=physical["Table"],
        bucket_name=physical["Bucket"],
        dead_letter_queue_url=physical["DeadLetterQueue"],
        schedules=schedules,
    )
    for name, resource in sam["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            info.function_names[name] = physical[name]
            info.handlers[name] = resource["Properties"]["Handler"]
    _apply_time_to_live(aws, sam, physical)
    _make_state_machines_execute(aws, sam, physical, info)
    _export_environment(aws, info)
    return info


def _without_local_only(resources: dict[str, Any]) -> dict[str, Any]:
    """Drop what moto cannot create, and whatever refers to it (e.g. the Lambda permissions
    for API Gateway), until nothing left points at a dropped resource."""
    dropped = {name for name, r in resources.items() if r["Type"].startswith(LOCAL_ONLY_SKIPPED)}
    while True:
        referring = {
            name for name, resource in resources.items()
            if name not in dropped and any(_refers_to(resource, other) for other in dropped)
        }
        if not referring:
            return {name: r for name, r in resources.items() if name not in dropped}
        dropped |= referring


def _refers_to(resource: dict[str, Any], logical_id: str) -> bool:
    text = json.dumps(resource)
    return (f'{{"Ref": "{logical_id}"}}' in text or f'["{logical_id}",' in text
            or "${" + logical_id + "}" in text or "${" + logical_id + "." in text
            or f'"DependsOn": "{logical_id}"' in text or f'"{logical_id}"]' in text)


def _placeholder_zip() -> bytes:
    """moto wants code in S3; the handlers really run from the source tree in-process."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "handlers run in-process from functions/")
    return buffer.getvalue()


def _schedules(cloudformation: dict[str, Any]) -> dict[str, float]:
    """Function logical id -> period in seconds, from the translated schedule rules."""
    units = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400,
             "days": 86400}
    found = {}
    for resource in cloudformation["Resources"].values():
        if resource["Type"] != "AWS::Events::Rule":
            continue
        properties = resource["Properties"]
        match = re.fullmatch(r"rate\((\d+) (\w+)\)", properties.get("ScheduleExpression", ""))
        if not match:
            continue
        for target in properties.get("Targets", []):
            target_arn = target["Arn"]
            if isinstance(target_arn, dict) and "Fn::GetAtt" in target_arn:
                found[target_arn["Fn::GetAtt"][0]] = int(match[1]) * units[match[2]]
    return found


def _physical_ids(cfn: Any, stack_name: str) -> dict[str, str]:
    deadline = time.monotonic() + 60
    while True:
        status = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]["StackStatus"]
        if status.endswith("_COMPLETE") or status.endswith("_FAILED"):
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"stack {stack_name} stuck in {status}")
        time.sleep(0.1)
    if status != "CREATE_COMPLETE":
        events = cfn.describe_stack_events(StackName=stack_name)["StackEvents"]
        reasons = [e.get("ResourceStatusReason") for e in events if "FAILED" in e["ResourceStatus"]]
        raise RuntimeError(f"stack {stack_name}: {status}: {reasons}")
    resources = cfn.list_stack_resources(StackName=stack_name)["StackResourceSummaries"]
    return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}


def _make_state_machines_execute(aws: EmbeddedAws, sam: dict[str, Any],
                                 physical: dict[str, str], info: StackInfo) -> None:
    lambda_client = aws.client("lambda")
    stepfunctions = aws.client("stepfunctions")
    for name, resource in sam["Resources"].items():
        if resource["Type"] != "AWS::Serverless::StateMachine":
            continue
        properties = resource["Properties"]
        definition = (TEMPLATE.parent / properties["DefinitionUri"]).read_text()
        for placeholder, value in properties.get("DefinitionSubstitutions", {}).items():
            definition = definition.replace(
                "${" + placeholder + "}", _resolve(value, physical, lambda_client))
        created_arn = physical[name]
        created = _non_executing_backend(aws).describe_state_machine(created_arn)
        _non_executing_backend(aws).delete_state_machine(created_arn)
        info.state_machine_arns[name] = stepfunctions.create_state_machine(
            name=created.name, definition=definition, roleArn=created.roleArn,
            type=properties.get("Type", "STANDARD"),
        )["stateMachineArn"]
    # Functions that were given the old ARN (e.g. TICKET_EVENT_STATE_MACHINE_ARN) keep it:
    # the recreated machine has the same name, hence the same ARN.


def _apply_time_to_live(aws: EmbeddedAws, sam: dict[str, Any], physical: dict[str, str]) -> None:
    """moto's CloudFormation ignores TimeToLiveSpecification; apply it as AWS would."""
    dynamodb = aws.client("dynamodb")
    for name, resource in sam["Resources"].items():
        ttl = resource.get("Properties", {}).get("TimeToLiveSpecification")
        if resource["Type"] == "AWS::DynamoDB::Table" and ttl:
            dynamodb.update_time_to_live(TableName=physical[name], TimeToLiveSpecification={
                "AttributeName": ttl["AttributeName"], "Enabled": bool(ttl["Enabled"])})


def _non_executing_backend(aws: EmbeddedAws) -> Any:
    from moto.stepfunctions.models import stepfunctions_backends

    return stepfunctions_backends[ACCOUNT][aws.region]


def _resolve(value: Any, physical: dict[str, str], lambda_client: Any) -> str:
    if isinstance(value, str):
        return value
    if "Ref" in value:
        return physical[value["Ref"]]
    if "Fn::GetAtt" in value:
        logical, attribute = value["Fn::GetAtt"]
        if attribute == "Arn":
            return lambda_client.get_function(FunctionName=physical[logical])[
                "Configuration"]["FunctionArn"]
    raise ValueError(f"cannot resolve substitution {value!r} locally")


def _export_environment(aws: EmbeddedAws, info: StackInfo) -> None:
    """Every function shares this process, so their template environment goes in ours."""
    lambda_client = aws.client("lambda")
    for function_name in info.function_names.values():
        configuration = lambda_client.get_function_configuration(FunctionName=function_name)
        variables = configuration.get("Environment", {}).get("Variables", {})
        os.environ.update({name: str(value) for name, value in variables.items()})
    os.environ.setdefault("TABLE_NAME", info.table_name)
    os.environ.setdefault("BUCKET_NAME", info.bucket_name)
