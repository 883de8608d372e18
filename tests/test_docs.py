"""The README and the docs site document the product as it is: every config key and every stack
output, the commands as CI runs them, and a site whose pages are all reachable."""

from __future__ import annotations

import fnmatch
import re

import yaml

from airflow_eks.offline import harness, loader
from tools import config_reference

ROOT = loader.ROOT
README = (ROOT / "README.md").read_text()
DOCS = ROOT / "docs"
README_MAX_LINES = 400


def page(name: str) -> str:
    return (DOCS / name).read_text()


def section(text: str, heading: str) -> str:
    """The text under `heading` (e.g. "## Outputs reference") up to the next heading of its level."""
    level = heading.split(" ", 1)[0]
    return text.split(f"{heading}\n", 1)[1].split(f"\n{level} ", 1)[0]


def all_markdown() -> dict[str, str]:
    pages = {str(p.relative_to(ROOT)): p.read_text() for p in sorted(DOCS.rglob("*.md"))}
    return {"README.md": README, **pages}


def test_config_reference_matches_pulumi_yaml_and_stack_files():
    text = config_reference.PAGE.read_text()
    assert config_reference.render(text) == text, (
        "docs/configuration.md is stale: run `venv/bin/python -m tools.config_reference --write`"
    )


def test_every_stack_output_is_in_the_outputs_table_and_nothing_else():
    outputs = section(page("configuration.md"), "## Outputs reference")
    documented = set(re.findall(r"^\| `([A-Za-z0-9]+)` \|", outputs, flags=re.M))
    exported = set(harness.run_program("dev").outputs) | set(harness.run_program("prod").outputs)
    assert documented == exported


def test_quick_start_first_command_runs_all_tests_and_ci_calls_it():
    quick = README.split("## Quick start", 1)[1]
    first = re.search(r"```bash\n([^\n]+)", quick).group(1).split("#")[0].strip()
    assert first == "make test"
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, flags=re.M)


def test_quick_start_names_what_the_full_suite_needs_and_the_targets_that_install_it():
    """Every Debian package the Makefile installs for the tests, and the chart fetch."""
    quick = section(README, "## Quick start")
    makefile = (ROOT / "Makefile").read_text()
    for target in ("test-packages", "runtime-packages"):
        line = re.search(rf"^{target}:.*\n\t@\./tools/install-debian-packages (.+)$", makefile, flags=re.M)
        packages = [spec.split("=")[0] for spec in line.group(1).split()]
        assert packages and all(f"`{package}`" in quick for package in packages), (target, packages)
    for needle in ("promtool", "amtool", "PostgreSQL", "PgBouncer", "`make test-packages`", "`make charts`",
                   "`make test-runtime`", "`make` alone lists every target"):
        assert needle in quick, needle


def test_the_readme_stays_short():
    assert README.count("\n") <= README_MAX_LINES


def test_every_page_is_in_the_site_navigation_and_every_nav_entry_exists():
    class Loader(yaml.SafeLoader):
        """mkdocs.yml names Python callables (`!!python/name:`): read them as text, import nothing."""

    Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, suffix, node: suffix)
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=Loader)  # noqa: S506 (safe: SafeLoader)

    def entries(nav) -> list[str]:
        out = []
        for item in nav:
            value = next(iter(item.values())) if isinstance(item, dict) else item
            out += entries(value) if isinstance(value, list) else [value]
        return out

    in_nav = entries(config["nav"])
    assert sorted(in_nav) == sorted(str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md"))


def test_every_snippet_the_site_includes_is_marked_in_the_readme():
    for name, text in all_markdown().items():
        for section_name in re.findall(r'^--8<-- "README\.md:([a-z-]+)"$', text, flags=re.M):
            for kind in ("start", "end"):
                assert f"<!-- --8<-- [{kind}:{section_name}] -->" in README, (name, section_name, kind)


def test_cluster_creator_is_documented_as_admin_already_and_not_listed_again():
    """pulumi-eks always bootstraps the creator's access entry: listing that principal in
    clusterAdminArns fails with 409 ResourceInUseException (pulumi-eks#2373)."""
    description = loader.project_file()["config"]["clusterAdminArns"]["description"]
    for text in (description, page("ci-cd.md")):
        assert "ResourceInUseException" in text
    for name, text in all_markdown().items():
        assert "Give every role an EKS access" not in text, name


def test_major_postgres_upgrade_steps_apply_the_upgrade_in_prod():
    steps = section(page("operations/upgrades.md"), "## Upgrading the chart or Airflow")
    for step in ("dbEngineVersion", "--allow-major-version-upgrade", "--apply-immediately",
                 "InvalidDBParameterGroupState", "maintenance window"):
        assert step in steps, step


def test_the_docs_save_plans_only_where_git_ignores_them():
    """Following the Offline plan example must not leave an untracked file in the checkout."""
    targets = [t for text in all_markdown().values() for t in re.findall(r"--json > (\S+)", text)]
    patterns = [line.strip() for line in (ROOT / ".gitignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    assert targets
    for target in targets:
        assert "/" not in target and any(fnmatch.fnmatch(target, p.removeprefix("/")) for p in patterns), target


def test_ui_access_section_covers_both_certificate_paths_four_providers_and_the_first_admin():
    from airflow_eks import sso

    ui = section(page("ui-and-sso.md"), "## UI access: HTTPS, single sign-on and roles")
    for needle in ("uiHostedZoneId", "uiCertificateArn", "uiLoadBalancerHostname", "Okta", "Entra ID", "Keycloak",
                   "Cognito", sso.redirect_uri("<uiHostname>"), sso.SCOPES, "**The first Admin**"):
        assert needle in ui, needle
    troubleshooting = page("troubleshooting.md")
    for symptom in ("redirect loop", "502 Bad Gateway", "sees nothing"):
        assert symptom in troubleshooting, symptom


def test_the_policy_pack_rule_count_in_the_docs_is_the_packs():
    from policy import rules

    stated = re.search(r"Its (\d+) rules are", page("ci-cd.md"))
    assert stated, "docs/ci-cd.md states how many rules the policy pack has"
    assert int(stated.group(1)) == len(rules.RULES)
