"""Two peer scanners, checkov and trivy, over manifests: each run once per manifest set per session.

Both live in their own virtualenv (scan/venv, `make install`; checkov's pinned dependencies
would fight ours) and run as subprocesses. A finding is (check id, Kind.namespace.name); the
accepted ones are listed with a reason each in scan/<scanner>-accepted.yaml. In CI a missing
scanner fails, never skips.
"""

from __future__ import annotations

import functools
import json
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

import yaml

from airflow_eks.offline import loader
from tests import charts

SCAN_DIR = loader.ROOT / "scan"
BIN = SCAN_DIR / "venv" / "bin"
ACCEPTED = {"checkov": SCAN_DIR / "checkov-accepted.yaml", "trivy": SCAN_DIR / "trivy-accepted.yaml"}
# The severities trivy's gate counts (issue 21's figure is HIGH and CRITICAL).
TRIVY_SEVERITIES = ("HIGH", "CRITICAL")

Finding = tuple[str, str]


def require(tool: str) -> Path:
    path = BIN / tool
    if not path.is_file():
        charts.unavailable(f"{tool} not found at {path} (run `make install`)")
    return path


def resource_id(obj: dict) -> str:
    """Kind.namespace.name, as checkov names a resource (cluster-scoped: `default`)."""
    return f"{obj['kind']}.{obj['metadata'].get('namespace', 'default')}.{obj['metadata']['name']}"


def _checkov_resource(checkov_resource: str) -> str:
    """Kind.namespace.name: graph checks append the pod labels, which say nothing more."""
    return ".".join(checkov_resource.split(".")[:3])


@functools.lru_cache(maxsize=4)
def _checkov(text: str) -> tuple[Finding, ...]:
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "manifests.yaml").write_text(text)
        done = subprocess.run(
            [str(require("checkov")), "--directory", folder, "--framework", "kubernetes", "--output", "json",
             "--quiet", "--skip-download"],
            capture_output=True, text=True, timeout=300, check=False,
        )
    # Exit status 1 means "failed checks"; anything else without a JSON report is a crash.
    try:
        report = json.loads(done.stdout)
    except ValueError:
        raise AssertionError(f"checkov failed ({done.returncode}): {done.stderr[-2000:]}") from None
    return tuple(sorted({(f["check_id"], _checkov_resource(f["resource"]))
                         for f in report["results"]["failed_checks"]}))


def failed_checks(objects: list[dict]) -> set[Finding]:
    """Every (check, resource) checkov fails on `objects`: its count of failed checks."""
    return set(_checkov(yaml.safe_dump_all(objects, sort_keys=True)))


@functools.lru_cache(maxsize=4)
def _trivy(documents: tuple[tuple[str, str], ...]) -> tuple[tuple[Finding, int], ...]:
    with tempfile.TemporaryDirectory() as folder, tempfile.TemporaryDirectory() as cache:
        # One file per object: trivy reports findings by file, and so by object.
        for number, (_, text) in enumerate(documents):
            (Path(folder) / f"{number:04d}.yaml").write_text(text)
        done = subprocess.run(
            # Offline: the checks built into the binary, no check bundle or database download.
            [str(require("trivy")), "config", "--skip-check-update", "--severity", ",".join(TRIVY_SEVERITIES),
             "--format", "json", "--quiet", "--cache-dir", cache, folder],
            capture_output=True, text=True, timeout=300, check=False,
        )
    try:
        report = json.loads(done.stdout)
    except ValueError:
        raise AssertionError(f"trivy failed ({done.returncode}): {done.stderr[-2000:]}") from None
    counted: Counter[Finding] = Counter()
    for result in report.get("Results") or []:
        resource = documents[int(Path(result["Target"]).stem)][0]
        for misconfiguration in result.get("Misconfigurations") or []:
            counted[(misconfiguration["ID"], resource)] += 1
    return tuple(sorted(counted.items()))


def trivy_findings(objects: list[dict]) -> Counter[Finding]:
    """(check, resource) -> how many times trivy reports it (once per container for container
    checks): the sum is trivy's count of HIGH and CRITICAL misconfigurations."""
    documents = tuple((resource_id(o), yaml.safe_dump(o, sort_keys=True)) for o in objects)
    return Counter(dict(_trivy(documents)))


def accepted(scanner: str = "checkov") -> dict[Finding, str]:
    """The accepted findings of `scanner` with their reasons."""
    out = {}
    for entry in yaml.safe_load(ACCEPTED[scanner].read_text()):
        for resource in entry["resources"]:
            out[(entry["check"], resource)] = entry["reason"]
    return out
