"""`make charts` (tools/charts.py) against a chart repository served on 127.0.0.1: the charts
beside the checkout, packaged here into archives with an index.yaml, as a chart repository
serves them. The pinned digests are the upstream archives'; these local archives have others,
so they stand in for a repository that serves something else than what was pinned."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from airflow_eks import versions
from airflow_eks.offline import loader
from tests import charts
from tools import charts as fetch

HEX64 = set("0123456789abcdef")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def package(folder: Path, name: str) -> bytes:
    """A chart folder as `helm package` lays it out: one top-level folder named after the chart."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(folder, arcname=name)
    return buffer.getvalue()


class Repository:
    """A chart repository on 127.0.0.1: index.yaml, archives, and the policy files; it records
    every path requested."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: list[str] = []
        handler = functools.partial(_Handler, repository=self, directory=str(root))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def publish(self, archives: dict[fetch.Chart, bytes], *, digests: dict[str, str] | None = None) -> None:
        """Archives under archives/, listed in index.yaml: relative URLs for all but the Airflow
        chart, whose index entry names an absolute URL (as airflow.apache.org's does)."""
        (self.root / "archives").mkdir(exist_ok=True)
        entries = {}
        for chart, data in archives.items():
            (self.root / "archives" / f"{chart.folder}.tgz").write_bytes(data)
            path = f"archives/{chart.folder}.tgz"
            url = f"{self.url}/{path}" if chart.name == versions.AIRFLOW_CHART_NAME else path
            digest = (digests or {}).get(chart.name, sha256(data))
            entries[chart.name] = [{"name": chart.name, "version": chart.version, "urls": [url], "digest": digest}]
        (self.root / "index.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "entries": entries}))


class _Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, repository: Repository, **kwargs) -> None:
        self.repository = repository
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.repository.requests.append(self.path)
        super().do_GET()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def repository(tmp_path) -> Iterator[Repository]:
    (tmp_path / "repo").mkdir()
    repo = Repository(tmp_path / "repo")
    yield repo
    repo.server.shutdown()
    repo.server.server_close()


@pytest.fixture(scope="module")
def archives() -> dict[tuple[str, str], bytes]:
    """Every chart the program installs, packaged from the copy the tests render."""
    return {(c.name, c.version): package(charts.require(charts.chart_dir(c.name, c.version)), c.name)
            for c in fetch.program_charts()}


def local(repository: Repository) -> tuple[fetch.Chart, ...]:
    return tuple(fetch.Chart(c.name, c.version, repository.url) for c in fetch.program_charts())


def published(repository: Repository, archives: dict) -> tuple[tuple[fetch.Chart, ...], dict]:
    chart_list = local(repository)
    repository.publish({c: archives[(c.name, c.version)] for c in chart_list})
    pins = {(c.name, c.version): sha256(archives[(c.name, c.version)]) for c in chart_list}
    return chart_list, pins


def local_policy_files(repository: Repository) -> tuple[fetch.UpstreamFile, ...]:
    """The published IAM policies, served from the copies beside the checkout, with the real pins."""
    source = charts.policy_dir()
    (repository.root / "policies").mkdir(exist_ok=True)
    for item in fetch.POLICY_FILES:
        (repository.root / "policies" / item.name).write_bytes((source / item.name).read_bytes())
    return tuple(fetch.UpstreamFile(i.name, f"{repository.url}/policies/{i.name}", i.sha256)
                 for i in fetch.POLICY_FILES)


# -- the pins ----------------------------------------------------------------------------------
def test_every_chart_the_program_installs_has_a_pin_entry_and_each_pin_is_a_sha256():
    installed = {(c.name, c.version) for c in fetch.program_charts()}
    assert set(fetch.PINS) == installed
    for key, pin in fetch.PINS.items():
        assert pin is None or (len(pin) == 64 and set(pin) <= HEX64), key


def test_the_policy_pins_are_the_published_files():
    """The copies beside the checkout are the upstream files (../shared/aws, from the v3.5.0 tag)."""
    for item in fetch.POLICY_FILES:
        assert sha256((charts.policy_dir() / item.name).read_bytes()) == item.sha256, item.name


# -- fetching ----------------------------------------------------------------------------------
def test_fetches_verifies_and_unpacks_every_chart_where_the_tests_look(repository, archives, tmp_path, capsys):
    chart_list, pins = published(repository, archives)
    dest = tmp_path / "charts"
    errors = fetch.fetch_all(chart_list, pins, dest, files=local_policy_files(repository))
    assert errors == []
    for chart in chart_list:
        meta = yaml.safe_load((dest / chart.folder / "Chart.yaml").read_text())
        assert (meta["name"], str(meta["version"])) == (chart.name, chart.version)
        assert (dest / chart.folder / fetch.VERIFIED).read_text().strip() == pins[(chart.name, chart.version)]
    for item in fetch.POLICY_FILES:
        assert sha256((dest / fetch.POLICY_FOLDER / item.name).read_bytes()) == item.sha256
    # The relative URL was resolved against the repository, the absolute one used as it is.
    assert "/archives/cluster-autoscaler-9.59.0.tgz" in repository.requests
    assert "verified sha256" in capsys.readouterr().out


def test_the_fetched_chart_renders_as_the_source_does(repository, archives, tmp_path):
    chart_list, pins = published(repository, archives)
    autoscaler = next(c for c in chart_list if c.name == versions.CLUSTER_AUTOSCALER_CHART)
    assert fetch.fetch_all((autoscaler,), pins, tmp_path) == []
    values = {"autoDiscovery": {"clusterName": "c"}, "awsRegion": "us-east-1"}
    source = charts.chart_dir(autoscaler.name, autoscaler.version)
    assert charts.render(tmp_path / autoscaler.folder, values, release="ca", namespace="kube-system") == \
        charts.render(source, values, release="ca", namespace="kube-system")


def test_a_second_run_downloads_nothing(repository, archives, tmp_path):
    chart_list, pins = published(repository, archives)
    assert fetch.fetch_all(chart_list, pins, tmp_path) == []
    repository.requests.clear()
    assert fetch.fetch_all(chart_list, pins, tmp_path) == []
    assert repository.requests == []


def test_a_digest_mismatch_fails_make_charts_and_unpacks_nothing(repository, archives, tmp_path):
    """The real pins against these local archives: what `make charts` does when a repository
    (or a mirror given with --repo) serves another archive than the one pinned."""
    chart_list, _ = published(repository, archives)
    dest = tmp_path / "charts"
    result = subprocess.run(
        [sys.executable, "-m", "tools.charts", "--dest", str(dest), "--no-files",
         *[f"--repo={c.name}={repository.url}" for c in chart_list]],
        cwd=loader.ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    for chart in chart_list:
        pin = fetch.PINS[(chart.name, chart.version)]
        expected = "sha256 mismatch" if pin else "no pinned sha256"
        assert any(line.startswith(f"error: {chart.folder}: {expected}") for line in result.stderr.splitlines()), \
            (chart.folder, result.stderr)
    assert not dest.exists() or not [p for p in dest.iterdir() if not p.name.startswith(".")]


def test_a_tampered_archive_never_replaces_a_verified_copy(repository, archives, tmp_path):
    chart_list, pins = published(repository, archives)
    lbc = next(c for c in chart_list if c.folder.startswith("aws-load-balancer-controller"))
    assert fetch.fetch_all((lbc,), pins, tmp_path) == []
    (tmp_path / lbc.folder / fetch.VERIFIED).write_text("an older pin\n")  # forces a download
    tampered = archives[(lbc.name, lbc.version)] + b"\0"
    # The repository's own index agrees with the tampered archive: only the pin catches it.
    repository.publish({lbc: tampered}, digests={lbc.name: sha256(tampered)})
    [error] = fetch.fetch_all((lbc,), pins, tmp_path)
    assert "sha256 mismatch" in error and "not unpacked" in error
    assert (tmp_path / lbc.folder / "Chart.yaml").is_file()
    assert (tmp_path / lbc.folder / fetch.VERIFIED).read_text() == "an older pin\n"


def test_an_unpinned_chart_is_refused_unless_allowed_and_then_checked_against_its_index(
        repository, archives, tmp_path):
    chart_list, pins = published(repository, archives)
    airflow = next(c for c in chart_list if c.name == versions.AIRFLOW_CHART_NAME)
    unpinned = {**pins, (airflow.name, airflow.version): None}
    [error] = fetch.fetch_all((airflow,), unpinned, tmp_path)
    assert "no pinned sha256" in error and repository.requests == []
    line = fetch.fetch_chart(airflow, None, tmp_path, allow_unpinned=True)
    assert f"pin sha256 {pins[(airflow.name, airflow.version)]}" in line
    # Allowed, but the index's digest still has to match what it serves.
    repository.publish({airflow: archives[(airflow.name, airflow.version)]}, digests={airflow.name: "0" * 64})
    (tmp_path / airflow.folder / fetch.VERIFIED).unlink()
    with pytest.raises(fetch.ChartError, match="sha256 mismatch"):
        fetch.fetch_chart(airflow, None, tmp_path, allow_unpinned=True)


def test_a_version_the_index_does_not_list_is_one_clear_error(repository, archives, tmp_path):
    chart_list, pins = published(repository, archives)
    missing = fetch.Chart(versions.CLUSTER_AUTOSCALER_CHART, "0.0.1", repository.url)
    with pytest.raises(fetch.ChartError, match="lists no archive for version 0.0.1"):
        fetch.fetch_chart(missing, "0" * 64, tmp_path)


@pytest.mark.parametrize("url", ["http://example.com/index.yaml", "ftp://127.0.0.1/index.yaml",
                                 "file:///etc/passwd"])
def test_only_https_is_fetched_except_from_this_machine(url):
    with pytest.raises(fetch.ChartError, match="only https:// URLs are fetched"):
        fetch.download(url)


# -- the notice at the end of `make test` ------------------------------------------------------
class _Report:
    def __init__(self, reason: str) -> None:
        self.longrepr = ("tests/x.py", 1, f"Skipped: {reason}")


class _Terminal:
    def __init__(self, reasons: list[str]) -> None:
        self.stats = {"skipped": [_Report(r) for r in reasons]}
        self.lines: list[str] = []

    def write_line(self, line: str, **markup) -> None:
        self.lines.append(line)


def _skip_reason(call) -> str:
    with pytest.raises(pytest.skip.Exception) as skipped:
        call()
    return str(skipped.value)


def test_missing_charts_and_tools_are_counted_at_the_end_of_the_run(monkeypatch):
    from tests import conftest, promql

    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("PROMETHEUS_TOOLS_REQUIRED", raising=False)
    monkeypatch.setattr(promql.shutil, "which", lambda name: None)
    chart = _skip_reason(lambda: charts.require(Path("/nonexistent")))
    tool = _skip_reason(promql.promtool)
    terminal = _Terminal([chart, chart, chart, tool, "something else"])
    conftest.pytest_terminal_summary(terminal)
    assert terminal.lines == [
        "NOTICE: 3 chart tests did not run: `make charts` fetches the pinned charts (docs/getting-started.md).",
        "NOTICE: 1 alert-rule test did not run: `make test-packages` installs promtool and amtool."]
    quiet = _Terminal(["something else"])
    conftest.pytest_terminal_summary(quiet)
    assert quiet.lines == []


def test_in_ci_a_missing_chart_fails_instead(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="make charts"):
        charts.require(Path("/nonexistent"))
