"""trivy as a second gate over the same manifests as tests/test_checkov_gate.py: its HIGH and
CRITICAL misconfigurations are either fixed or listed, with their reasons, in
scan/trivy-accepted.yaml. A new finding fails, and so does an accepted one that no longer occurs
(the reasons' form is checked with checkov's, in tests/test_checkov_gate.py)."""

from __future__ import annotations

import copy
import functools

from tests import scan
from tests.test_checkov_gate import UNHARDENED, scanned, target_scope, unhardened
from tests.test_rendered_manifests import _stack_runs  # noqa: F401 (fixture)

# Issue 21's target, on its scope (the prod Airflow chart, the task pod template, the program's
# NetworkPolicies): at most 3, from 20 (19 writable root filesystems, KSV-0014, and one
# false positive).
MAX_FINDINGS = 3


WRITABLE = "writable-scheduler"


@functools.cache
def writable_scheduler() -> dict:
    """The rendered scheduler with its root filesystems made writable again: a second control,
    scanned in the same trivy run (each run costs seconds)."""
    [scheduler] = [copy.deepcopy(o) for o in scanned() if o["kind"] == "Deployment"
                   and o["metadata"]["name"].endswith("-scheduler")]
    scheduler["metadata"]["name"] = WRITABLE
    for container in scheduler["spec"]["template"]["spec"]["containers"]:
        container["securityContext"]["readOnlyRootFilesystem"] = False
    return scheduler


@functools.cache
def findings(*, control: bool = False) -> dict[scan.Finding, int]:
    everything = scan.trivy_findings([*scanned(), unhardened(), writable_scheduler()])
    controls = (f".{UNHARDENED}", f".{WRITABLE}")
    return {f: n for f, n in everything.items() if f[1].endswith(controls) is control}


def test_no_finding_outside_the_accepted_list():
    new = set(findings()) - set(scan.accepted("trivy"))
    assert new == set(), "fix these or add them, with a reason, to scan/trivy-accepted.yaml"


def test_every_accepted_finding_still_occurs():
    stale = set(scan.accepted("trivy")) - set(findings())
    assert stale == set(), "remove these from scan/trivy-accepted.yaml"


def test_high_and_critical_findings_stay_within_the_target():
    scope = target_scope()
    in_scope = sum(n for f, n in findings().items() if f[1] in scope)
    assert in_scope <= MAX_FINDINGS


def test_the_scanner_sees_a_writable_root_filesystem():
    """The gate is only as good as the scan: the StatsD pod without its security contexts is
    reported (KSV-0014, read-only root filesystem, is HIGH), and with them it is not."""
    assert ("KSV-0014", f"Deployment.airflow.{UNHARDENED}") in findings(control=True)
    assert not [f for f in findings() if f[0] == "KSV-0014"]
    # and the scheduler with its roots made writable again: once per container
    writable = writable_scheduler()
    assert findings(control=True)[("KSV-0014", scan.resource_id(writable))] == len(
        writable["spec"]["template"]["spec"]["containers"])
