"""The import layers the code promises (docs/architecture.md), read from the source with ast:
the domain imports no AWS SDK, web framework, handler or local-stack code and reads no
environment; the store imports no feature package; no Lambda imports another's package, and
the handlers read their environment through `helpdesk.aws.environment` only.

Known breaks still to remove (issue "Design step") are listed below; each list may only
shrink: a listed file that no longer breaks the rule fails the test until it is removed
from the list."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ROOT / "functions"
DOMAIN = FUNCTIONS / "helpdesk"
ADAPTERS = {DOMAIN / "aws", DOMAIN / "store"}  # where AWS SDK calls belong
HANDLER_PACKAGES = {p.name for p in FUNCTIONS.iterdir()
                    if p.is_dir() and (p / "__init__.py").exists() and p.name != "helpdesk"}
FORBIDDEN_IN_DOMAIN = {"boto3", "botocore", "chalice", "aws_lambda_powertools", "devstack",
                       "helpdesk.aws", *HANDLER_PACKAGES}
# helpdesk.changes: change intents, plain data the store commits (models of the bottom layer)
STORE_MAY_IMPORT = {"helpdesk.store", "helpdesk.models", "helpdesk.changes", "helpdesk.errors",
                    "boto3", "botocore"}

READS_ENVIRONMENT_STILL: set[str] = set()
STORE_IMPORTS_FEATURES_STILL: set[str] = set()
LAMBDA_IMPORTS_ANOTHER_STILL: set[str] = set()


def _modules(under: Path) -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(under.rglob("*.py")):
        yield str(path.relative_to(FUNCTIONS)), ast.parse(path.read_text(), str(path))


def _imports(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def _within(name: str, packages: set[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def _reads_environment(tree: ast.Module) -> bool:
    return any(isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv")
               and isinstance(node.value, ast.Name) and node.value.id == "os"
               for node in ast.walk(tree))


def _domain_modules() -> Iterator[tuple[str, ast.Module]]:
    for name, tree in _modules(DOMAIN):
        if not any((FUNCTIONS / name).is_relative_to(adapter) for adapter in ADAPTERS):
            yield name, tree


def test_the_domain_imports_no_sdk_framework_handler_or_local_stack_code():
    checked = 0
    for name, tree in _domain_modules():
        checked += 1
        wrong = sorted(i for i in _imports(tree) if _within(i, FORBIDDEN_IN_DOMAIN))
        assert not wrong, f"{name} imports {wrong}"
    assert checked > 50


def test_the_domain_reads_no_environment():
    reading = {name for name, tree in _domain_modules() if _reads_environment(tree)}
    assert reading - READS_ENVIRONMENT_STILL == set(), "new environment reads in the domain"
    assert READS_ENVIRONMENT_STILL - reading == set(), "fixed: remove from the list"


def test_handlers_read_the_environment_through_its_model_only():
    reading = {name for package in sorted(HANDLER_PACKAGES)
               for name, tree in _modules(FUNCTIONS / package) if _reads_environment(tree)}
    assert HANDLER_PACKAGES and reading == set(), "read settings_of(<function>.settings.Settings)"


def test_the_store_imports_no_feature_package():
    importing = {}
    for name, tree in _modules(DOMAIN / "store"):
        features = sorted(i for i in _imports(tree) if i.startswith("helpdesk")
                          and not _within(i, STORE_MAY_IMPORT))
        if features:
            importing[name] = features
    assert set(importing) - STORE_IMPORTS_FEATURES_STILL == set(), importing
    assert STORE_IMPORTS_FEATURES_STILL - set(importing) == set(), "fixed: remove from the list"


def test_no_lambda_imports_another_lambdas_package():
    importing = {}
    for package in sorted(HANDLER_PACKAGES):
        for name, tree in _modules(FUNCTIONS / package):
            others = sorted(i for i in _imports(tree)
                            if _within(i, HANDLER_PACKAGES - {package}))
            if others:
                importing[name] = others
    assert HANDLER_PACKAGES, "no handler packages found"
    assert set(importing) - LAMBDA_IMPORTS_ANOTHER_STILL == set(), importing
    assert LAMBDA_IMPORTS_ANOTHER_STILL - set(importing) == set(), "fixed: remove from the list"


def test_only_the_stores_touch_the_table():
    """Domain code reads and writes through the stores (repository, collections, markers,
    links); `service.py` is where the stores are built on the table."""
    touching = sorted(name for name, tree in _domain_modules()
                      if name != "helpdesk/service.py"
                      and any(isinstance(node, ast.Attribute) and node.attr == "table"
                              for node in ast.walk(tree)))
    assert touching == []


def test_only_the_wiring_builds_on_the_whole_helpdesk():
    """Domain modules name what they use of the helpdesk (narrow Protocols, see
    helpdesk/stored.py); only the AWS wiring imports the `Helpdesk` that holds everything."""
    importing = sorted(name for name, tree in _domain_modules()
                       if name != "helpdesk/service.py" and "helpdesk.service" in _imports(tree))
    assert importing == []
