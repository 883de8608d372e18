"""The README documents the product as it is: every config key and every stack output."""

from __future__ import annotations

import fnmatch
import re

from airflow_eks.offline import harness, loader
from tools import config_reference

README = (loader.ROOT / "README.md").read_text()


def test_config_reference_matches_pulumi_yaml_and_stack_files():
    assert config_reference.render(README) == README, (
        "README config reference is stale: run `venv/bin/python -m tools.config_reference --write`"
    )


def test_every_stack_output_is_in_the_outputs_table_and_nothing_else():
    section = README.split("## Outputs reference", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([A-Za-z0-9]+)` \|", section, flags=re.M))
    exported = set(harness.run_program("dev").outputs) | set(harness.run_program("prod").outputs)
    assert documented == exported


def test_quick_start_first_command_runs_all_tests_and_ci_calls_it():
    quick = README.split("## Quick start", 1)[1]
    first = re.search(r"```bash\n([^\n]+)", quick).group(1).split("#")[0].strip()
    assert first == "make test"
    ci = (loader.ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, flags=re.M)


def test_cluster_creator_is_documented_as_admin_already_and_not_listed_again():
    """pulumi-eks always bootstraps the creator's access entry: listing that principal in
    clusterAdminArns fails with 409 ResourceInUseException (pulumi-eks#2373)."""
    description = loader.project_file()["config"]["clusterAdminArns"]["description"]
    for text in (description, README.split("## CI/CD", 1)[1]):
        assert "ResourceInUseException" in text
    assert "Give every role an EKS access" not in README


def test_major_postgres_upgrade_steps_apply_the_upgrade_in_prod():
    section = README.split("### Upgrading the chart or Airflow", 1)[1].split("\n### ", 1)[0]
    for step in ("dbEngineVersion", "--allow-major-version-upgrade", "--apply-immediately",
                 "InvalidDBParameterGroupState", "maintenance window"):
        assert step in section, step


def test_the_readme_saves_plans_only_where_git_ignores_them():
    """Following the Offline plan example must not leave an untracked file in the checkout."""
    targets = re.findall(r"--json > (\S+)", README)
    patterns = [line.strip() for line in (loader.ROOT / ".gitignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    assert targets
    for target in targets:
        assert "/" not in target and any(fnmatch.fnmatch(target, p.removeprefix("/")) for p in patterns), target


def test_ui_access_section_covers_both_certificate_paths_four_providers_and_the_first_admin():
    from airflow_eks import sso

    section = README.split("### UI access: HTTPS, single sign-on and roles", 1)[1].split("\n### ", 1)[0]
    for needle in ("uiHostedZoneId", "uiCertificateArn", "uiLoadBalancerHostname", "Okta", "Entra ID", "Keycloak",
                   "Cognito", sso.redirect_uri("<uiHostname>"), sso.SCOPES, "**The first Admin**"):
        assert needle in section, needle
    troubleshooting = README.split("## Troubleshooting", 1)[1].split("\n## ", 1)[0]
    for symptom in ("redirect loop", "502 Bad Gateway", "sees nothing"):
        assert symptom in troubleshooting, symptom


def test_the_policy_pack_rule_count_in_the_readme_is_the_packs():
    from policy import rules

    stated = re.search(r"Its (\d+) rules are", README)
    assert stated, "README's CI/CD section states how many rules the policy pack has"
    assert int(stated.group(1)) == len(rules.RULES)
