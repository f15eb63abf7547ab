"""The SAM template and the ASL files: linted, translated offline, deployed into moto."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.aws import TEMPLATE, load_template, translate

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ASL_FILES = sorted((ROOT / "state_machines").glob("*.asl.json"))


def test_cfn_lint_is_clean():
    result = subprocess.run([str(BIN / "cfn-lint"), str(TEMPLATE)], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", ASL_FILES, ids=lambda p: p.name)
def test_statelint_is_clean(path):
    result = subprocess.run([str(BIN / "statelint"), str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_state_machine_file_is_deployed_with_its_substitutions():
    sam = load_template()
    machines = {r["Properties"]["DefinitionUri"].rsplit("/", 1)[-1]: r["Properties"]
                for r in sam["Resources"].values()
                if r["Type"] == "AWS::Serverless::StateMachine"}
    assert set(machines) == {p.name for p in ASL_FILES}
    for name, properties in machines.items():
        text = (ROOT / "state_machines" / name).read_text()
        placeholders = {part.split("}")[0] for part in text.split("${")[1:]}
        assert placeholders == set(properties["DefinitionSubstitutions"]), name


def test_translates_offline_to_cloudformation():
    cloudformation = translate(load_template(), "s3://bucket/bundle.zip")
    types = [r["Type"] for r in cloudformation["Resources"].values()]
    assert types.count("AWS::Lambda::Function") == 6
    assert "AWS::StepFunctions::StateMachine" in types
    assert "AWS::Lambda::EventSourceMapping" in types
    assert "AWS::Events::Rule" in types
    assert not any(t.startswith("AWS::Serverless::") for t in types)


def test_functions_share_one_bundle_and_handlers_exist():
    import importlib

    sam = load_template()
    assert sam["Globals"]["Function"]["CodeUri"] == "../functions/"
    for resource in sam["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            assert "CodeUri" not in resource["Properties"]
            module, _, attribute = resource["Properties"]["Handler"].rpartition(".")
            assert callable(getattr(importlib.import_module(module), attribute))


def test_no_policy_grants_everything():
    text = json.dumps(load_template())
    assert '"Action": "*"' not in text and "AdministratorAccess" not in text
