"""checkov, a peer scanner, over manifests: run once per manifest set per session.

checkov lives in its own virtualenv (scan/venv, `make install`; its pinned dependencies would
fight ours) and runs as a subprocess. Findings are (check id, Kind.namespace.name); the
accepted ones are listed with a reason each in scan/checkov-accepted.yaml. In CI a missing
scanner fails, never skips.
"""

from __future__ import annotations

import functools
import json
import subprocess
import tempfile
from pathlib import Path

import yaml

from airflow_eks.offline import loader
from tests import charts

SCAN_DIR = loader.ROOT / "scan"
CHECKOV = SCAN_DIR / "venv" / "bin" / "checkov"
ACCEPTED = SCAN_DIR / "checkov-accepted.yaml"

Finding = tuple[str, str]


def require_checkov() -> Path:
    if not CHECKOV.is_file():
        charts.unavailable(f"checkov not found at {CHECKOV} (run `make install`)")
    return CHECKOV


def resource_id(checkov_resource: str) -> str:
    """Kind.namespace.name: graph checks append the pod labels, which say nothing more."""
    return ".".join(checkov_resource.split(".")[:3])


@functools.lru_cache(maxsize=4)
def _scan(text: str) -> tuple[Finding, ...]:
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "manifests.yaml").write_text(text)
        done = subprocess.run(
            [str(require_checkov()), "--directory", folder, "--framework", "kubernetes", "--output", "json",
             "--quiet", "--skip-download"],
            capture_output=True, text=True, timeout=300, check=False,
        )
    # Exit status 1 means "failed checks"; anything else without a JSON report is a crash.
    try:
        report = json.loads(done.stdout)
    except ValueError:
        raise AssertionError(f"checkov failed ({done.returncode}): {done.stderr[-2000:]}") from None
    return tuple(sorted({(f["check_id"], resource_id(f["resource"])) for f in report["results"]["failed_checks"]}))


def failed_checks(objects: list[dict]) -> set[Finding]:
    """Every (check, resource) checkov fails on `objects`: its count of failed checks."""
    return set(_scan(yaml.safe_dump_all(objects, sort_keys=True)))


def accepted() -> dict[Finding, str]:
    """The accepted findings with their reasons."""
    out = {}
    for entry in yaml.safe_load(ACCEPTED.read_text()):
        for resource in entry["resources"]:
            out[(entry["check"], resource)] = entry["reason"]
    return out
