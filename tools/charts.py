"""`make charts`: the exact upstream charts the tests render, fetched into build/charts.

    python -m tools.charts [--dest DIR] [--repo NAME=URL ...] [--allow-unpinned]

For each chart the program installs (the Airflow chart at airflowChartVersion's default, the
Cluster Autoscaler and the AWS Load Balancer Controller at the versions in airflow_eks/), it
reads the chart repository's index.yaml over HTTPS, downloads the archive the index names,
checks the archive's sha256 against the digest pinned below, and unpacks it into
build/charts/<name>-<version> (git-ignored). The published IAM policy documents of the Load
Balancer Controller, which the tests compare the program's policy with, come the same way into
build/charts/aws. No helm binary: only the standard library.

A digest mismatch fails before anything is unpacked, and leaves a previously verified copy in
place. An archive with no pinned digest is refused unless --allow-unpinned, which then checks it
against its index's own digest and prints the sha256 to pin. --repo points a chart at another
repository (a mirror) serving the same archives; the pins still decide.

The tests look in build/charts first, then in ../shared (tests/charts.py); `chart_dirs()` and
`shared_dirs()` are that order.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import shutil
import sys
import tarfile
import tempfile
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

from airflow_eks import load_balancer_controller as lbc
from airflow_eks import versions
from airflow_eks.offline import loader

ROOT = loader.ROOT
DEST = ROOT / "build" / "charts"
SHARED = ROOT.parent / "shared"
POLICY_FOLDER = "aws"  # as ../shared/aws
VERIFIED = ".sha256"  # in each unpacked folder: the digest it was verified against
TIMEOUT_SECONDS = 60
LOOPBACK = {"127.0.0.1", "localhost", "::1"}

# sha256 of each upstream archive: the `digest:` its repository's index.yaml lists, read
# offline from a stored copy of that index. Never guessed: a chart whose digest could not be
# read is None, and `make charts` refuses it (see --allow-unpinned).
PINS: dict[tuple[str, str], str | None] = {
    # kubernetes/autoscaler, branch gh-pages, index.yaml (served at kubernetes.github.io/autoscaler),
    # entry created 2026-07-21; the archive itself is the GitHub release asset the entry names.
    ("cluster-autoscaler", "9.59.0"): "90276dafe65cf5d4328ef8313baf6cfb9d130683e0c9f3c28a03b4d8a9ed8f6e",
    # aws/eks-charts, branch gh-pages, index.yaml (aws.github.io/eks-charts), entry created
    # 2026-08-03; the sha256 of the archive on that branch is the same.
    ("aws-load-balancer-controller", "3.5.0"): "45051f634b33e10baccb3354d0681b7de787c60445e599fa276e0c9aedd4ccd5",
    # NOT PINNED. https://airflow.apache.org/index.yaml (apache/airflow-site) lists this
    # archive's digest, but no copy of that index with 1.19.0 in it could be read where this
    # was written (the stored copies end at 1.16.0). `make charts CHARTS_ARGS=--allow-unpinned`
    # prints the sha256 of what the index serves: check it, then put it here.
    ("airflow", "1.19.0"): None,
}


@dataclass(frozen=True)
class Chart:
    name: str
    version: str
    repo: str  # the chart repository: <repo>/index.yaml

    @property
    def folder(self) -> str:
        return f"{self.name}-{self.version}"


@dataclass(frozen=True)
class UpstreamFile:
    """A single published file the tests compare against, pinned like the charts."""

    name: str
    url: str
    sha256: str


def airflow_chart_version() -> str:
    return str(loader.project_file()["config"]["airflowChartVersion"]["default"])


def program_charts() -> tuple[Chart, ...]:
    """Every chart the program installs, at the version it installs."""
    return (
        Chart(versions.AIRFLOW_CHART_NAME, airflow_chart_version(), versions.AIRFLOW_CHART_REPO),
        Chart(versions.CLUSTER_AUTOSCALER_CHART, versions.CLUSTER_AUTOSCALER_CHART_VERSION,
              versions.CLUSTER_AUTOSCALER_CHART_REPO),
        Chart(lbc.CHART, lbc.CHART_VERSION, lbc.CHART_REPO),
    )


# The controller's published IAM policies at its v3.5.0 tag (commit 11eb202c), by commit so the
# bytes cannot change; the sha256 values are those of docs/install/ in that commit.
_LBC_BLOB = ("https://raw.githubusercontent.com/kubernetes-sigs/aws-load-balancer-controller/"
             "11eb202c97e4ae2ee45e0658c4cde9a4b59f33d4/docs/install/")
POLICY_FILES: tuple[UpstreamFile, ...] = (
    UpstreamFile(f"aws-load-balancer-controller-iam-policy-v{lbc.CHART_VERSION}.json", _LBC_BLOB + "iam_policy.json",
                 "16f232c9d9f79366fe949c4550ad517a202380058a9e48d45a4e215044a20a6a"),
    UpstreamFile(f"aws-load-balancer-controller-iam-policy-acm-certs-v{lbc.CHART_VERSION}.json",
                 _LBC_BLOB + "iam_policy_acm_certs.json",
                 "2a442c3d109dc623dd0ec089a06af9d57d1aaf585fbdae94e21371cb9038232e"),
)


# -- where the tests look --------------------------------------------------------------------
def chart_dirs(name: str, version: str) -> tuple[Path, Path]:
    """build/charts first (make charts), then ../shared (beside the checkout, as CI has it)."""
    airflow = name == versions.AIRFLOW_CHART_NAME
    shared = SHARED / "airflow-chart" if airflow else SHARED / "charts" / f"{name}-{version}"
    return DEST / f"{name}-{version}", shared


def policy_dirs() -> tuple[Path, Path]:
    return DEST / POLICY_FOLDER, SHARED / POLICY_FOLDER


# -- fetching ----------------------------------------------------------------------------------
class ChartError(Exception):
    """What went wrong with one chart or file, as one line."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def download(url: str) -> bytes:
    """HTTPS only (plain HTTP only to this machine's loopback, for the tests' local repository)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in LOOPBACK):
        raise ChartError(f"refusing {url}: only https:// URLs are fetched")
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 (scheme checked)
            return response.read()
    except OSError as exc:  # URLError, HTTPError, timeouts
        raise ChartError(f"cannot fetch {url}: {getattr(exc, 'reason', None) or exc}") from exc


def archive_url(index: dict, chart: Chart) -> tuple[str, str | None]:
    """The archive URL the index lists for the chart's version (relative URLs resolved against
    the repository, as helm does), and the digest the index states for it."""
    for entry in (index.get("entries") or {}).get(chart.name) or []:
        if str(entry.get("version")) == chart.version:
            urls = entry.get("urls") or []
            if not urls:
                break
            return urllib.parse.urljoin(chart.repo.rstrip("/") + "/", urls[0]), entry.get("digest")
    raise ChartError(f"{chart.folder}: {chart.repo}/index.yaml lists no archive for version {chart.version}")


def verified(folder: Path, digest: str | None) -> bool:
    marker = folder / VERIFIED
    return digest is not None and marker.is_file() and marker.read_text().strip() == digest


def unpack(data: bytes, chart: Chart, dest: Path, digest: str) -> Path:
    """Unpack the archive's single top-level folder (the chart's name) to dest/<name>-<version>."""
    target = dest / chart.folder
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest, prefix=f".{chart.folder}-") as tmp:
        try:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
                # The "data" filter refuses absolute paths, links out of the folder and devices.
                archive.extractall(tmp, filter="data")
        except (tarfile.TarError, OSError) as exc:
            raise ChartError(f"{chart.folder}: not a chart archive ({exc})") from exc
        unpacked = Path(tmp) / chart.name
        if not (unpacked / "Chart.yaml").is_file():
            raise ChartError(f"{chart.folder}: the archive has no {chart.name}/Chart.yaml")
        (unpacked / VERIFIED).write_text(digest + "\n")
        if target.exists():
            shutil.rmtree(target)
        unpacked.rename(target)
    return target


def fetch_chart(chart: Chart, pin: str | None, dest: Path, *, allow_unpinned: bool = False) -> str:
    """Fetch, verify and unpack one chart; the line to print."""
    if pin is None and not allow_unpinned:
        raise ChartError(f"{chart.folder}: no pinned sha256 (tools/charts.py, PINS); not fetched. "
                         "`make charts CHARTS_ARGS=--allow-unpinned` fetches it against its index's digest "
                         "and prints the sha256 to pin")
    if verified(dest / chart.folder, pin):
        return f"{chart.folder}: up to date ({dest / chart.folder})"
    try:
        index = yaml.safe_load(download(chart.repo.rstrip("/") + "/index.yaml"))
    except yaml.YAMLError as exc:
        raise ChartError(f"{chart.folder}: {chart.repo}/index.yaml is not YAML") from exc
    url, index_digest = archive_url(index if isinstance(index, dict) else {}, chart)
    data = download(url)
    actual = sha256(data)
    expected = pin or index_digest
    if expected is None:
        raise ChartError(f"{chart.folder}: unpinned, and its index states no digest; not unpacked")
    if actual != expected:
        raise ChartError(f"{chart.folder}: sha256 mismatch for {url}: got {actual}, "
                         f"{'pinned' if pin else 'index says'} {expected}; not unpacked")
    target = unpack(data, chart, dest, actual)
    note = "" if pin else f" UNPINNED: matched its index only; pin sha256 {actual} in tools/charts.py"
    return f"{chart.folder}: verified sha256 {actual[:12]}..., unpacked to {target}{note}"


def fetch_file(item: UpstreamFile, dest: Path) -> str:
    target = dest / item.name
    if target.is_file() and sha256(target.read_bytes()) == item.sha256:
        return f"{item.name}: up to date ({target})"
    data = download(item.url)
    if sha256(data) != item.sha256:
        raise ChartError(f"{item.name}: sha256 mismatch for {item.url}: got {sha256(data)}, pinned {item.sha256}")
    dest.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return f"{item.name}: verified, written to {target}"


def fetch_all(charts: tuple[Chart, ...], pins: dict[tuple[str, str], str | None], dest: Path, *,
              files: tuple[UpstreamFile, ...] = (), allow_unpinned: bool = False) -> list[str]:
    """Every chart and file, each on its own; the errors, after trying them all."""
    errors = []
    for chart in charts:
        try:
            print(fetch_chart(chart, pins.get((chart.name, chart.version)), dest, allow_unpinned=allow_unpinned))
        except ChartError as exc:
            errors.append(_named(chart.folder, exc))
    for item in files:
        try:
            print(fetch_file(item, dest / POLICY_FOLDER))
        except ChartError as exc:
            errors.append(_named(item.name, exc))
    return errors


def _named(name: str, exc: ChartError) -> str:
    return str(exc) if str(exc).startswith(f"{name}:") else f"{name}: {exc}"


def repo_override(text: str) -> tuple[str, str]:
    name, sep, url = text.partition("=")
    if not sep or not name or not url:
        raise argparse.ArgumentTypeError(f"expected NAME=URL, got {text!r}")
    return name, url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.charts", description=__doc__.split("\n")[0])
    parser.add_argument("--dest", type=Path, default=DEST, help=f"where to unpack (default {DEST.relative_to(ROOT)})")
    parser.add_argument("--repo", type=repo_override, action="append", default=[], metavar="NAME=URL",
                        help="fetch chart NAME from this repository instead (a mirror); the pins still apply")
    parser.add_argument("--allow-unpinned", action="store_true",
                        help="fetch a chart with no pinned digest, checked against its index's digest only")
    parser.add_argument("--no-files", action="store_true", help="charts only, not the published IAM policies")
    args = parser.parse_args(argv)
    overrides = dict(args.repo)
    charts = tuple(Chart(c.name, c.version, overrides.get(c.name, c.repo)) for c in program_charts())
    unknown = set(overrides) - {c.name for c in charts}
    if unknown:
        parser.error(f"--repo names no chart the program installs: {', '.join(sorted(unknown))}")
    errors = fetch_all(charts, PINS, args.dest, files=() if args.no_files else POLICY_FILES,
                       allow_unpinned=args.allow_unpinned)
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
