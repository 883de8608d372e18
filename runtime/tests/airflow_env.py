"""The pinned Airflow run from the generated configuration, with only what cannot exist here changed.

Every change from what the cluster would run is made here or in the fixture that needs it, and
is listed in CHANGES (docs/development.md, Runtime tier, summarises it).
"""

from __future__ import annotations

import configparser
import io
import os
import re
import subprocess
from pathlib import Path

from airflow_eks import secret_data

from . import services
from .program import Generated, expand

CHANGES = {
    "pgbouncer-address": "PgBouncer's Service address airflow-pgbouncer.airflow:6543 -> 127.0.0.1:<free port> "
                         "in the metadata connection (no cluster DNS here)",
    "pgbouncer-listen": "pgbouncer.ini listen_addr * -> 127.0.0.1, listen_port 6543 -> a free port, "
                        "auth_file -> the test's copy of users.txt (loopback only; ports are shared)",
    "rds-address": "pgbouncer.ini [databases] host <RDS endpoint> -> 127.0.0.1, port 5432 -> the test "
                   "cluster's port",
    "cluster-dns": "[core] execution_api_server_url and [metrics] statsd_host name cluster Services -> "
                   "127.0.0.1",
    "statsd-port": "[metrics] statsd_port 9125 -> the test StatsD exporter's free port (a free port nobody "
                   "reads for homes without one): ports are shared on this machine",
    "task-statsd": "the task pods' own StatsD exporter (airflow-task-statsd) is not run: LocalExecutor's task "
                   "processes share the scheduler's environment and send to the chart's exporter, whose mapping "
                   "maps every task metric as the task exporter's does (tests/test_task_statsd.py; test_metrics.py)",
    "dags-folder": "[core] dags_folder (gitSync checkout) -> the tests' sample DAGs",
    "aws": "EKS Pod Identity credentials -> static test credentials and AWS_ENDPOINT_URL of the moto server",
    "executor": "[core] executor KubernetesExecutor -> LocalExecutor (no Kubernetes here; test 5 only)",
    "ports-and-workers": "one API server worker on 127.0.0.1 instead of four on 0.0.0.0, and free ports instead "
                         "of 8080 (API) and 8793/8794 (log servers): two shared cores, shared ports, loopback "
                         "only (tests 5 and 7; Airflow gives the log servers no host setting: they listen on "
                         "every interface, on their free port, for the test's lifetime)",
    "async-driver": "[database] sql_alchemy_conn_async names psycopg_async (the metadata URL with that driver): "
                    "what Airflow 3.4 derives when psycopg 3 is installed, where 3.3 always derives asyncpg "
                    "(test_async_database only, for that driver's cases)",
    "image-requirements": "image/requirements.txt installed into a virtualenv layered over the tier's Airflow "
                          "(the image's layer), and its DAG run with `airflow dags test` and remote logging off "
                          "(no S3 for it; test_image_requirements.py only)",
    "sso-issuer": "webserver_config.py's server_metadata_url -> the mock provider's http issuer on "
                  "localhost, AUTHLIB_INSECURE_TRANSPORT=1 (test 7 only)",
    "scratch-dirs": "HOME (the image's /home/airflow) and TMPDIR (the pod's /tmp) -> empty folders per "
                    "container, beside its AIRFLOW_HOME, so test 8 sees where each process wrote",
}

CHART_AIRFLOW_HOME = "/opt/airflow"  # values.yaml airflowHome
# The chart's long-running containers the stack starts with their rendered command (kind, component).
COMPONENTS = [("Deployment", "api-server"), ("Deployment", "scheduler"), ("Deployment", "dag-processor"),
              ("StatefulSet", "triggerer")]
# The Airflow image's HOME (its Dockerfile's AIRFLOW_USER_HOME_DIR, holding the virtualenv .local)
# and the temporary folder Python and the image's pip/uv caches use.
IMAGE_HOME = "/home/airflow"
IMAGE_TMP = "/tmp"  # noqa: S108 - the path inside the image, mapped to a folder of the test's
# Folders the image has under AIRFLOW_HOME (its Dockerfile: mkdir -pv ${AIRFLOW_HOME}/dags and
# /logs): every container's AIRFLOW_HOME here has them too, empty, as in the image. A process
# may "create" them on a read-only root (mkdir of an existing folder fails with EEXIST, which
# os.makedirs(exist_ok=True) accepts), but not write into them unless a volume is mounted there.
IMAGE_DIRS = (f"{CHART_AIRFLOW_HOME}/dags", f"{CHART_AIRFLOW_HOME}/logs")
PGBOUNCER_SERVICE = f"{secret_data.PGBOUNCER_HOST}:{secret_data.PGBOUNCER_PORT}"


def _sub_once(pattern: str, replacement: str, text: str) -> str:
    new, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    assert count == 1, f"expected exactly one match of {pattern!r} in the generated file:\n{text}"
    return new


def local_pgbouncer_ini(ini: str, *, pg_port: int, listen_port: int, auth_file: Path) -> str:
    """CHANGES pgbouncer-listen and rds-address; everything else is the program's file."""
    ini = _sub_once(r"(?<= host=)\S+", services.LOOPBACK, ini)
    ini = _sub_once(r"(?<= port=)5432\b", str(pg_port), ini)
    ini = _sub_once(r"^listen_addr = \*$", f"listen_addr = {services.LOOPBACK}", ini)
    ini = _sub_once(rf"^listen_port = {secret_data.PGBOUNCER_PORT}$", f"listen_port = {listen_port}", ini)
    return _sub_once(rf"^auth_file = {re.escape(secret_data.PGBOUNCER_AUTH_FILE)}$", f"auth_file = {auth_file}", ini)


def local_url(url: str, pgbouncer_port: int) -> str:
    """CHANGES pgbouncer-address, for a connection URL from one of the program's Secrets."""
    assert PGBOUNCER_SERVICE in url or "127.0.0.1" in url, url
    return url.replace(PGBOUNCER_SERVICE, f"{services.LOOPBACK}:{pgbouncer_port}")


def libpq_url(url: str) -> str:
    """A SQLAlchemy `postgresql+<driver>://` URL as libpq (psql, psycopg2.connect) takes it."""
    scheme, rest = url.split("://", 1)
    assert scheme.split("+")[0] == "postgresql", scheme
    return f"postgresql://{rest}"


def async_url(url: str, driver: str) -> str:
    """The metadata URL with another SQLAlchemy driver (CHANGES async-driver)."""
    return f"postgresql+{driver}://{url.split('://', 1)[1]}"


def local_cfg(cfg: str, *, api_port: int, statsd_port: int, dags_folder: Path | None = None,
              executor: str | None = None) -> str:
    """The chart's airflow.cfg with CHANGES cluster-dns, statsd-port, dags-folder and (if asked)
    executor."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keep keys exactly as rendered
    parser.read_string(cfg)
    assert parser.get("core", "execution_api_server_url").startswith("http://"), "chart default changed"
    parser.set("core", "execution_api_server_url", f"http://{services.LOOPBACK}:{api_port}/execution/")
    for section in ("metrics", "scheduler"):
        if parser.has_option(section, "statsd_host"):
            parser.set(section, "statsd_host", services.LOOPBACK)
            parser.set(section, "statsd_port", str(statsd_port))
    if dags_folder is not None:
        parser.set("core", "dags_folder", str(dags_folder))
    if executor is not None:
        parser.set("core", "executor", executor)
    out = io.StringIO()
    parser.write(out)
    return out.getvalue()


def cfg_get(cfg: str, section: str, key: str) -> str:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(cfg)
    return parser.get(section, key)


class AirflowHome:
    """An AIRFLOW_HOME with the rendered airflow.cfg, and each component's environment as the
    chart gives it to that component's container."""

    def __init__(self, path: Path, gen: Generated, *, pgbouncer_port: int, api_port: int | None = None,
                 statsd_port: int | None = None, dags_folder: Path | None = None, executor: str | None = None,
                 extra_env: dict[str, str] | None = None, venv: Path = services.AIRFLOW_VENV) -> None:
        self.path = path
        self.gen = gen
        self.venv = venv
        """The image's Airflow: the default's venv, or the upgrade test's older one."""
        self.pgbouncer_port = pgbouncer_port
        self.api_port = api_port or services.free_port()
        self.extra_env = dict(extra_env or {})
        self.replace: dict[str, str] = {}
        """Mounted file (path under airflowHome) -> content to use instead (stated by the test)."""
        path.mkdir(parents=True, exist_ok=True)
        self.statsd_port = statsd_port or services.free_port()
        self.cfg = local_cfg(gen.airflow_cfg(), api_port=self.api_port, statsd_port=self.statsd_port,
                             dags_folder=dags_folder, executor=executor)
        (path / "airflow.cfg").write_text(self.cfg)

    def container_home(self, container: dict) -> Path:
        """An AIRFLOW_HOME holding exactly the files the container mounts from the chart's
        ConfigMaps under the chart's airflowHome (airflow.cfg, airflow_local_settings.py,
        webserver_config.py): a container the chart gives no local settings runs without them.
        airflow.cfg is the localized copy (CHANGES); `replace` substitutes other files."""
        home = self.path / "containers" / container["name"]
        home.mkdir(parents=True, exist_ok=True)
        for mount_path, text in self.gen.mounted_files(container).items():
            if not mount_path.startswith(f"{CHART_AIRFLOW_HOME}/"):
                continue
            relative = mount_path.removeprefix(f"{CHART_AIRFLOW_HOME}/")
            target = home / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(self.cfg if relative == "airflow.cfg" else self.replace.get(relative, text))
        return home

    def roots(self, container: dict) -> dict[str, Path]:
        """The image's paths this harness runs the container with, each as a local folder of its
        own: AIRFLOW_HOME, HOME and TMPDIR (CHANGES scratch-dirs)."""
        scratch = self.path / "scratch" / container["name"]
        roots = {CHART_AIRFLOW_HOME: self.container_home(container), IMAGE_HOME: scratch / "home",
                 IMAGE_TMP: scratch / "tmp"}
        for folder in roots.values():
            folder.mkdir(parents=True, exist_ok=True)
        for folder in IMAGE_DIRS:
            (roots[CHART_AIRFLOW_HOME] / folder.removeprefix(f"{CHART_AIRFLOW_HOME}/")).mkdir(exist_ok=True)
        return roots

    def env(self, kind: str = "Deployment", component: str = "scheduler", container: str | None = None) -> dict:
        return self.container_env(self.gen.container(kind, component, container or component))

    def container_env(self, container: dict) -> dict:
        """A rendered container's env with CHANGES pgbouncer-address; AIRFLOW_HOME is this home."""
        spec_env = self.gen.env(container)
        env = {k: (local_url(v, self.pgbouncer_port) if k in _DB_URL_VARS else v) for k, v in spec_env.items()}
        assert env.get("AIRFLOW_HOME", CHART_AIRFLOW_HOME) == CHART_AIRFLOW_HOME, env.get("AIRFLOW_HOME")
        roots = self.roots(container)
        env["AIRFLOW_HOME"] = str(roots[CHART_AIRFLOW_HOME])  # the image's /opt/airflow
        env["HOME"], env["TMPDIR"] = str(roots[IMAGE_HOME]), str(roots[IMAGE_TMP])
        base = {k: os.environ[k] for k in ("PATH", "LANG", "LC_ALL") if k in os.environ}
        # The image's `airflow` first on PATH: the chart's commands call it by name.
        base["PATH"] = f"{self.venv / 'bin'}:{base.get('PATH', '')}"
        return {**base, **env, **self.extra_env, "PYTHONUNBUFFERED": "1"}

    def run_container(self, container: dict, *, timeout: float = 300) -> subprocess.CompletedProcess:
        """A rendered container's command and args, `$(VAR)` expanded from its env as the
        kubelet does, to completion (a Job's containers and init containers)."""
        env = self.container_env(container)
        args = [expand(a, env) for a in (container.get("command") or []) + container["args"]]
        return subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout,
                              cwd=env["AIRFLOW_HOME"])

    def start_container(self, container: dict, name: str) -> services.Process:
        """A rendered long-running container (a Deployment's or StatefulSet's), in the background."""
        env = self.container_env(container)
        args = [expand(a, env) for a in (container.get("command") or []) + container["args"]]
        return services.Process(args, log=self.path / f"{name}.log", env=env, cwd=env["AIRFLOW_HOME"])

    def run(self, *args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
        """An `airflow` CLI command (default: with the scheduler container's env)."""
        env = env or self.env()
        return subprocess.run([str(self.venv / "bin" / "airflow"), *args], env=env, capture_output=True, text=True,
                              timeout=timeout, cwd=env.get("AIRFLOW_HOME", self.path))


# The chart sets the metadata connection in these (from our Secret); each gets the same change.
_DB_URL_VARS = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CORE__SQL_ALCHEMY_CONN", "AIRFLOW_CONN_AIRFLOW_DB"}
