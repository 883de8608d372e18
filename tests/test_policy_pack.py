"""The CrossGuard side of the pack: policies.py wraps every rule, __main__.py builds the pack.

pulumi-policy cannot live in the program's venv (it pins protobuf 5), and constructing a
PolicyPack starts a server that blocks, so:
- policies.py is loaded here against a recording stand-in for pulumi_policy, which proves the
  wiring (one policy per rule, level, schema, arguments passed through);
- the real pulumi_policy in policy/venv (made by `make install`) loads the same module in a
  subprocess, which proves the wrappers fit the installed SDK;
- __main__.py is only parsed.
"""

from __future__ import annotations

import ast
import enum
import importlib.util
import os
import subprocess
import sys
import types
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from policy import rules

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "policy"
POLICY_PYTHON = POLICY / "venv" / "bin" / "python"


class _Policy:
    def __init__(self, name, description, validate=None, enforcement_level=None, config_schema=None):
        self.name, self.description, self.validate = name, description, validate
        self.enforcement_level, self.config_schema = enforcement_level, config_schema


class _EnforcementLevel(enum.Enum):
    ADVISORY = "advisory"
    MANDATORY = "mandatory"
    REMEDIATE = "remediate"
    DISABLED = "disabled"


class _PolicyConfigSchema:
    def __init__(self, properties, required=None):
        self.properties, self.required = properties, required


def _rules_modules() -> list[str]:
    """The top-level `rules` package and its submodules, as the CLI-style import loads them."""
    return [name for name in sys.modules if name == "rules" or name.startswith("rules.")]


@pytest.fixture
def policies(monkeypatch):
    """policy/policies.py imported as the CLI would (policy/ on sys.path), over a stand-in SDK."""
    sdk = types.ModuleType("pulumi_policy")
    sdk.ResourceValidationPolicy = type("ResourceValidationPolicy", (_Policy,), {})
    sdk.StackValidationPolicy = type("StackValidationPolicy", (_Policy,), {})
    sdk.EnforcementLevel = _EnforcementLevel
    sdk.PolicyConfigSchema = _PolicyConfigSchema
    for name in ("PolicyResource", "ReportViolation", "ResourceValidationArgs", "StackValidationArgs"):
        setattr(sdk, name, object)
    monkeypatch.setitem(sys.modules, "pulumi_policy", sdk)
    for name in _rules_modules():
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.syspath_prepend(str(POLICY))
    spec = importlib.util.spec_from_file_location("policies", POLICY / "policies.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    for name in _rules_modules():
        sys.modules.pop(name, None)


def test_every_rule_is_wrapped_once_with_its_kind_level_and_schema(policies):
    wrapped = {p.name: p for p in policies.POLICIES}
    assert list(wrapped) == [r.name for r in rules.RULES]
    for rule in rules.RULES:
        policy = wrapped[rule.name]
        assert type(policy).__name__ == ("StackValidationPolicy" if rule.stack else "ResourceValidationPolicy")
        assert policy.description == rule.description
        assert policy.enforcement_level.value == rule.level
        assert (policy.config_schema.properties if policy.config_schema else {}) == rule.config


def test_resource_policy_passes_type_props_and_config_through(policies):
    policy = next(p for p in policies.POLICIES if p.name == "rds-backup-retention")
    reported = []
    args = SimpleNamespace(resource_type=rules.RDS_INSTANCE, props={"backupRetentionPeriod": 3.0},
                           get_config=lambda: {"minDays": 5}, urn="urn:db")
    policy.validate(args, lambda message, urn=None: reported.append((message, urn)))
    assert reported == [("backupRetentionPeriod is 3; keep automated backups for at least 5 day(s).", None)]
    policy.validate(SimpleNamespace(**{**vars(args), "get_config": lambda: {"minDays": 3}}),
                    lambda *a: reported.append(a))
    assert len(reported) == 1


def test_stack_policy_adapts_policy_resources_and_reports_their_urns(policies):
    policy = next(p for p in policies.POLICIES if p.name == "aws-required-tags")
    provider = SimpleNamespace(props={"defaultTags": '{"tags": {"project": "p", "stack": "s"}}'})
    vpc = SimpleNamespace(resource_type="aws:ec2/vpc:Vpc", name="vpc", props={}, urn="urn:vpc", provider=provider,
                          property_dependencies={})
    reported = []
    policy.validate(SimpleNamespace(resources=[vpc], get_config=lambda: None),
                    lambda message, urn=None: reported.append((message, urn)))
    assert reported == [("missing tags ['managed-by']; create it with the stack's tagged AWS provider.", "urn:vpc")]


def test_main_builds_the_named_pack_from_policies_and_nothing_else():
    tree = ast.parse((POLICY / "__main__.py").read_text())
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "PolicyPack"]
    assert len(calls) == 1
    keywords = {k.arg: k.value for k in calls[0].keywords}
    assert ast.literal_eval(keywords["name"]) == "airflow-eks"
    assert isinstance(keywords["policies"], ast.Name) and keywords["policies"].id == "POLICIES"
    imports = {(n.module, a.name) for n in tree.body if isinstance(n, ast.ImportFrom) for a in n.names}
    assert ("policies", "POLICIES") in imports
    assert len(tree.body) <= 4, "keep __main__.py to the pack construction"


def test_pack_project_uses_its_own_virtualenv_and_pins():
    project = yaml.safe_load((POLICY / "PulumiPolicy.yaml").read_text())
    assert project["runtime"] == {"name": "python", "options": {"virtualenv": "venv"}}
    pins = dict(line.split("==") for line in (POLICY / "requirements.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    program = dict(line.split("==") for line in (ROOT / "requirements.txt").read_text().splitlines()
                   if "==" in line and not line.startswith("#"))
    assert pins["pulumi-policy"] == "1.21.0"
    assert pins["pulumi"] == program["pulumi"], "the pack's pulumi SDK should match the program's"


REAL_SDK_CHECK = """
import pulumi_policy, policies, rules
from pulumi_policy import ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy
from pulumi_policy.proxy import unknown_checking_proxy
assert [p.name for p in policies.POLICIES] == [r.name for r in rules.RULES]
for p, r in zip(policies.POLICIES, rules.RULES):
    assert isinstance(p, StackValidationPolicy if r.stack else ResourceValidationPolicy), p.name
    assert p.enforcement_level.value == r.level
reported = []
policy = next(p for p in policies.POLICIES if p.name == "rds-storage-encrypted")
args = ResourceValidationArgs("aws:rds/instance:Instance", unknown_checking_proxy({"storageEncrypted": False}),
                              "urn:db", "db", None, None)
policy.validate(args, lambda message, urn=None: reported.append(message))
assert len(reported) == 1, reported
print("ok", len(policies.POLICIES))
"""


def test_policies_load_with_the_real_pulumi_policy_sdk():
    if not POLICY_PYTHON.exists():
        message = f"{POLICY_PYTHON} missing; run `make install` (it creates policy/venv)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    result = subprocess.run([str(POLICY_PYTHON), "-c", REAL_SDK_CHECK], cwd=POLICY, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"ok {len(rules.RULES)}"
