"""The embedded AWS: moto in server mode inside this process, with the stack of
`infra/template.yaml` created in it. `make run` (devstack.local_stack) and the tests use it.

    with EmbeddedAws() as aws:
        stack = deploy_stack(aws)
        boto3.client("dynamodb").put_item(TableName=stack.table_name, Item=...)

What is real: the template (translated offline by aws-sam-translator, created by moto's
CloudFormation), the Lambda handlers (run in-process, see lambda_runtime.py), the ASL in
state_machines/ (executed by moto's Step Functions interpreter) and the stream -> Lambda
mapping (moto creates it from the template's AWS::Lambda::EventSourceMapping and does call
the function on every write, but synchronously and even for rolled-back transactions;
streams.py delivers the records the way AWS does instead). What is not: API Gateway
(devstack/gateway.py plays it), EventBridge schedules (`StackInfo.schedules` tells
devstack/scheduler.py what to run)."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import socket
import time
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Self

import yaml

from devstack import lambda_runtime, moto_patches
from devstack.streams import StreamPoller

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "infra" / "template.yaml"
ACCOUNT_ID = "123456789012"  # moto's default account

# moto's CloudFormation cannot create these; they are played locally instead: API Gateway by
# devstack/gateway.py, the SES receipt rule (and the bucket policy letting SES store mail) by
# devstack/smtp.py, which stores and invokes exactly the same way. Everything that references
# a dropped resource (the API's Lambda permissions, the ApiUrl output) is dropped with it.
# Everything else in the template creates fine in moto 5.2.5.
UNSUPPORTED_TYPE_PREFIXES = ("AWS::ApiGateway::", "AWS::ApiGatewayV2::", "AWS::SES::",
                             "AWS::S3::BucketPolicy")
SUBSTITUTION_OUTPUT = "LocalSubstitution"


class EmbeddedAws:
    """moto's server on 127.0.0.1 in this process for other processes (`endpoint_url`), and
    the same moto in-process for boto3 clients of this process (moto's botocore stubber, as in
    `mock_aws`). One at a time per process: moto's state is global."""

    _active: ClassVar[EmbeddedAws | None] = None

    def __init__(self, port: int = 0, region: str = "us-east-1", *,
                 verbose: bool = False) -> None:
        self.port = port
        self.region = region
        self.verbose = verbose
        self._server: Any = None
        self._poller: StreamPoller | None = None
        self._saved_env: dict[str, str | None] = {}

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        if EmbeddedAws._active is not None:
            raise RuntimeError("an EmbeddedAws is already running in this process")
        EmbeddedAws._active = self
        try:
            return self._start()
        except BaseException:
            self.stop()  # e.g. the port is taken: leave the process as it was
            raise

    def _start(self) -> Self:
        from moto.server import ThreadedMotoServer

        self.set_environment({
            "TZ": "UTC",  # moto's Wait states compare UTC stamps with local naive time
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": None,  # never pair real session tokens with fake keys
            "AWS_PROFILE": None,
        })
        time.tzset()
        if not self.verbose:
            logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request
        lambda_runtime.install()
        moto_patches.install()  # before the poller wraps transact_write_items
        self._poller = StreamPoller().start()
        if self.port:
            _ensure_free(self.port)  # moto's server thread would die and start() wait forever
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port,
                                          verbose=self.verbose)
        self._server.start()
        self.port = self._server.get_host_and_port()[1]
        # Callers in this process (the handlers, the Step Functions interpreter, the stream
        # poller) reach moto in-process, the way `mock_aws` does: its HTTP server closes the
        # connection after every answer (werkzeug's dev server), which cost a TCP connection
        # and a thread per AWS call. Other processes use the endpoint.
        from moto.core.models import botocore_stubber

        botocore_stubber.enabled = True
        self.set_environment({"MOTO_PORT": str(self.port), "AWS_ENDPOINT_URL": None})
        self._moto_api("reset", {})  # a fresh AWS, whatever ran in this process before
        self._moto_api("config", {"stepfunctions": {"execute_state_machine": True}})
        return self

    def stop(self) -> None:
        if self._poller is not None:
            self._poller.stop()
            self._poller = None
        from moto.core.models import botocore_stubber

        botocore_stubber.enabled = False
        if self._server is not None:
            with contextlib.suppress(OSError):
                self._moto_api("reset", {})  # frees the state; the next start begins empty
            self._server.stop()
            self._server = None
        moto_patches.uninstall()
        lambda_runtime.uninstall()
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()
        time.tzset()
        if EmbeddedAws._active is self:
            EmbeddedAws._active = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, endpoint_url=self.endpoint_url, region_name=self.region,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def set_environment(self, values: dict[str, str | None]) -> None:
        """Sets (None: removes) variables; stop() puts the previous values back."""
        for name, value in values.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def wait_for_streams(self, timeout: float = 10.0) -> bool:
        """True once every DynamoDB stream record so far has reached its function."""
        return self._poller.wait_idle(timeout) if self._poller is not None else True

    def _moto_api(self, action: str, body: dict[str, Any]) -> None:
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/{action}",
                                         data=json.dumps(body).encode(), method="POST")
        with urllib.request.urlopen(request, timeout=10) as answer:
            answer.read()


def _ensure_free(port: int) -> None:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as problem:
            raise OSError(f"port {port} for the embedded AWS is taken: {problem}") from None


@dataclass(frozen=True)
class StackInfo:
    """What the local stack needs to know about the deployed stack, by logical id."""

    stack_name: str
    table_name: str
    bucket_name: str
    state_machine_arns: dict[str, str]
    function_names: dict[str, str]
    handlers: dict[str, str]
    schedules: dict[str, float]  # function logical id -> period in seconds (rate() rules)
    queue_urls: dict[str, str]
    outputs: dict[str, str]
    environment: dict[str, str] = field(default_factory=dict)
    dropped_resources: list[str] = field(default_factory=list)


def deploy_stack(aws: EmbeddedAws, stack_name: str = "helpdesk",
                 parameters: dict[str, str] | None = None,
                 template_path: Path = TEMPLATE) -> StackInfo:
    """Creates the SAM template's stack in the embedded AWS and wires what moto leaves out.
    The functions' environment (TABLE_NAME, ...) is put into os.environ, because the
    handlers run in this process; stop() of `aws` restores it."""
    parameters = {name: str(value) for name, value in (parameters or {}).items()}
    template = load_template(template_path)
    code_uri = _upload_code_bundle(aws, stack_name)
    localize(template, template_path.parent, code_uri)
    translated = translate(template, parameters)
    dropped = prune_unsupported(translated)
    substitutions = _expose_substitutions(translated)

    cloudformation = aws.client("cloudformation")
    cloudformation.create_stack(
        StackName=stack_name, TemplateBody=json.dumps(translated),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"])
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    if stack["StackStatus"] != "CREATE_COMPLETE":
        raise RuntimeError(f"stack {stack_name}: {stack['StackStatus']} "
                           f"{stack.get('StackStatusReason', '')}")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    physical = _physical_ids(cloudformation, stack_name)
    resources = translated["Resources"]

    _apply_table_settings(aws, resources, physical)
    state_machines = _recreate_state_machines(aws, resources, physical, substitutions, outputs)
    functions = {k: physical[k] for k, r in resources.items()
                 if r["Type"] == "AWS::Lambda::Function"}
    environment = _function_environment(aws, functions)
    aws.set_environment(dict(environment))
    return StackInfo(
        stack_name=stack_name,
        table_name=_only(resources, physical, "AWS::DynamoDB::Table"),
        bucket_name=_only(resources, physical, "AWS::S3::Bucket"),
        state_machine_arns=state_machines,
        function_names=functions,
        handlers={k: resources[k]["Properties"]["Handler"] for k in functions},
        schedules=schedules_of(translated),
        queue_urls={k: physical[k] for k, r in resources.items()
                    if r["Type"] == "AWS::SQS::Queue"},
        outputs={k: v for k, v in outputs.items() if not k.startswith(SUBSTITUTION_OUTPUT)},
        environment=environment,
        dropped_resources=dropped,
    )


# --- the template --------------------------------------------------------------------------
class _CfnLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """YAML with CloudFormation's short forms (!Ref, !GetAtt, !Sub, ...). cfn-lint has such
    a loader too, but importing cfnlint costs about a second; this costs nothing."""


def _short_form(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix in ("Ref", "Condition"):
        return {suffix: value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _short_form)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_CfnLoader)


def translate(template: dict[str, Any], parameters: dict[str, str] | None = None
              ) -> dict[str, Any]:
    """SAM -> plain CloudFormation, offline. Local CodeUri/DefinitionUri must be gone."""
    from samtranslator.translator.transform import transform

    class NoManagedPolicies:  # the loader would ask IAM for AWS managed policy ARNs
        def load(self) -> dict[str, str]:
            return {}

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # the translator insists
    return transform(json.loads(json.dumps(template)), dict(parameters or {}),
                     NoManagedPolicies())


def localize(template: dict[str, Any], base: Path, code_uri: str) -> None:
    """Points local CodeUri at the uploaded bundle and inlines each DefinitionUri's ASL."""
    function_globals = template.get("Globals", {}).get("Function", {})
    if isinstance(function_globals.get("CodeUri"), str):
        function_globals["CodeUri"] = code_uri
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function" and isinstance(
                props.get("CodeUri"), str) and not props["CodeUri"].startswith("s3://"):
            props["CodeUri"] = code_uri
        if resource["Type"] == "AWS::Serverless::StateMachine" and isinstance(
                props.get("DefinitionUri"), str):
            props["Definition"] = json.loads(
                (base / props.pop("DefinitionUri")).read_text(encoding="utf-8"))


def _upload_code_bundle(aws: EmbeddedAws, stack_name: str) -> str:
    """moto wants function code in S3; the handlers really run from functions/ in-process,
    so a placeholder zip is enough."""
    s3 = aws.client("s3")
    bucket = f"{stack_name.lower()}-local-code"
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=bucket)
    bundle = io.BytesIO()
    with zipfile.ZipFile(bundle, "w") as archive:
        archive.writestr("README.txt", "handlers run in-process from functions/\n")
    s3.put_object(Bucket=bucket, Key="bundle.zip", Body=bundle.getvalue())
    return f"s3://{bucket}/bundle.zip"


def references(node: Any) -> set[str]:
    """Logical ids a template fragment refers to (Ref, GetAtt, Sub, DependsOn)."""
    found: set[str] = set()
    if isinstance(node, list):
        for item in node:
            found |= references(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                target = value[0] if isinstance(value, list) else str(value).split(".")[0]
                found.add(target)
            elif key == "Fn::Sub":
                text, names = (value[0], value[1]) if isinstance(value, list) else (value, {})
                found |= {m.split(".")[0] for m in re.findall(r"\$\{([^!}][^}]*)\}", text)}
                found -= set(names)
                found |= references(names)
            elif key == "DependsOn":
                found |= {value} if isinstance(value, str) else set(value)
            else:
                found |= references(value)
    return {name for name in found if not name.startswith("AWS::")}


def prune_unsupported(template: dict[str, Any]) -> list[str]:
    """Drops what moto cannot create, and whatever refers to it; returns the logical ids."""
    resources = template["Resources"]
    dropped = {k for k, r in resources.items() if r["Type"].startswith(UNSUPPORTED_TYPE_PREFIXES)}
    while True:
        more = {k for k, r in resources.items() if k not in dropped and references(r) & dropped}
        if not more:
            break
        dropped |= more
    for name in dropped:
        del resources[name]
    outputs = template.get("Outputs", {})
    for name in [k for k, o in outputs.items() if references(o) & dropped]:
        del outputs[name]
    return sorted(dropped)


def _expose_substitutions(template: dict[str, Any]) -> dict[str, dict[str, str]]:
    """moto's CloudFormation ignores DefinitionSubstitutions. Turning each value into a stack
    output makes moto resolve it exactly like any other Ref/GetAtt."""
    exposed: dict[str, dict[str, str]] = {}
    outputs = template.setdefault("Outputs", {})
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::StepFunctions::StateMachine":
            continue
        exposed[logical_id] = {}
        for index, (key, value) in enumerate(
                resource["Properties"].get("DefinitionSubstitutions", {}).items()):
            output = f"{SUBSTITUTION_OUTPUT}{logical_id}{index}"
            outputs[output] = {"Value": value}
            exposed[logical_id][key] = output
    return exposed


def schedules_of(template: dict[str, Any]) -> dict[str, float]:
    """EventBridge rate() rules of a translated template: target function -> seconds.
    moto stores the rules but never fires them; the local scheduler loop does."""
    units = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400,
             "days": 86400}
    found: dict[str, float] = {}
    for logical_id, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        if resource["Type"] != "AWS::Events::Rule" or "ScheduleExpression" not in props:
            continue
        if props.get("State", "ENABLED") != "ENABLED":
            continue
        match = re.fullmatch(r"rate\((\d+) (\w+)\)", props["ScheduleExpression"].strip())
        if not match or match[2] not in units:
            logger.warning("%s: only rate() schedules run locally, not %s", logical_id,
                           props["ScheduleExpression"])
            continue
        for target in props.get("Targets", []):
            for name in references(target.get("Arn")):
                found[name] = float(int(match[1]) * units[match[2]])
    return found


# --- after creation -------------------------------------------------------------------------
def _physical_ids(cloudformation: Any, stack_name: str) -> dict[str, str]:
    ids: dict[str, str] = {}
    for page in cloudformation.get_paginator("list_stack_resources").paginate(
            StackName=stack_name):
        for summary in page["StackResourceSummaries"]:
            ids[summary["LogicalResourceId"]] = summary.get("PhysicalResourceId", "")
    return ids


def _only(resources: dict[str, Any], physical: dict[str, str], kind: str) -> str:
    found = [physical[k] for k, r in resources.items() if r["Type"] == kind]
    if len(found) != 1:
        raise RuntimeError(f"the template must define exactly one {kind}, not {len(found)}")
    return found[0]


def _apply_table_settings(aws: EmbeddedAws, resources: dict[str, Any],
                          physical: dict[str, str]) -> None:
    """moto's CloudFormation ignores TimeToLiveSpecification and
    PointInTimeRecoverySpecification; the API calls apply them as AWS would."""
    dynamodb = aws.client("dynamodb")
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::DynamoDB::Table":
            continue
        props, name = resource["Properties"], physical[logical_id]
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification={
                "AttributeName": ttl["AttributeName"], "Enabled": True})
        pitr = props.get("PointInTimeRecoverySpecification")
        if pitr and pitr.get("PointInTimeRecoveryEnabled"):
            dynamodb.update_continuous_backups(
                TableName=name,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})


def _recreate_state_machines(aws: EmbeddedAws, resources: dict[str, Any],
                             physical: dict[str, str], substitutions: dict[str, dict[str, str]],
                             outputs: dict[str, str]) -> dict[str, str]:
    """CloudFormation put the state machines in moto's non-executing store, with `${...}`
    unreplaced; create each again, substituted, in the executing one (same name and ARN)."""
    from moto.stepfunctions.models import stepfunctions_backends

    stored = stepfunctions_backends[ACCOUNT_ID][aws.region]
    stepfunctions = aws.client("stepfunctions")
    arns: dict[str, str] = {}
    for logical_id, names in substitutions.items():
        created = stored.describe_state_machine(physical[logical_id])
        definition = created.definition
        for key, output in names.items():
            definition = definition.replace("${" + key + "}", outputs[output])
        left = re.findall(r"\$\{[A-Za-z0-9_.]+\}", definition)
        if left:
            raise RuntimeError(f"{logical_id}: no DefinitionSubstitutions for {left}")
        kind = resources[logical_id]["Properties"].get("StateMachineType", "STANDARD")
        answer = stepfunctions.create_state_machine(
            name=created.name, definition=definition, roleArn=created.roleArn, type=kind)
        if answer["stateMachineArn"] != created.arn:  # the functions' env holds that ARN
            raise RuntimeError(f"{logical_id}: executing copy got {answer['stateMachineArn']}")
        arns[logical_id] = answer["stateMachineArn"]
    return arns


def _function_environment(aws: EmbeddedAws, functions: dict[str, str]) -> dict[str, str]:
    """The union of the functions' resolved environment variables. The handlers share this
    process, so they share one environment; a variable with different values per function
    cannot be honoured and is reported."""
    lambdas = aws.client("lambda")
    merged: dict[str, str] = {}
    for logical_id, name in sorted(functions.items()):
        config = lambdas.get_function_configuration(FunctionName=name)
        for key, value in config.get("Environment", {}).get("Variables", {}).items():
            value = str(value)  # moto keeps Number parameters as numbers
            if key in merged and merged[key] != value:
                logger.warning("%s differs between functions (%s: %r); using %r", key,
                               logical_id, value, merged[key])
                continue
            merged[key] = value
    return merged
