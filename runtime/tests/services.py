"""Real services on 127.0.0.1 for the runtime tier: PostgreSQL with TLS, PgBouncer, moto, and
Airflow's own processes. Every start has a bounded wait and every process is stopped by the
fixture that started it (its whole process group, by PID).

PostgreSQL and PgBouncer refuse to run as root (CI runs as root): then they run as the
`postgres` user the Debian package creates, in a directory that user owns.
"""

from __future__ import annotations

import base64
import contextlib
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = ROOT / "runtime"


def pinned_airflow(constraints: Path) -> str:
    """The apache-airflow version a constraints file pins (the only place a venv's version is written)."""
    [version] = re.findall(r"^apache-airflow==(\S+)$", constraints.read_text(), re.MULTILINE)
    return version


# The Airflow the tier runs: the default airflowVersion (tests/test_runtime_pins.py holds the pin
# equal to Pulumi.yaml's default). Read it from here, e.g. to regenerate a capture for a version.
AIRFLOW_VERSION = pinned_airflow(RUNTIME / "constraints-airflow.txt")
# The release the upgrade test starts from: runtime/constraints-airflow-<version>.txt (one file).
[_OLD_CONSTRAINTS] = sorted(RUNTIME.glob("constraints-airflow-*.txt"))
UPGRADE_FROM = pinned_airflow(_OLD_CONSTRAINTS)
AIRFLOW_VENV = ROOT / os.environ.get("AIRFLOW_VENV", "build/runtime/venv-airflow")
OLD_AIRFLOW_VENV = ROOT / os.environ.get("OLD_AIRFLOW_VENV", f"build/runtime/venv-airflow-{UPGRADE_FROM}")
TOOLS_VENV = ROOT / os.environ.get("TOOLS_VENV", "build/runtime/venv-tools")
AIRFLOW = AIRFLOW_VENV / "bin" / "airflow"
LOOPBACK = "127.0.0.1"


def installed_airflow(venv: Path) -> str:
    code = "import importlib.metadata as m; print(m.version('apache-airflow'))"
    return subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True,
                          check=True, timeout=60).stdout.strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def wait_until(check: Callable[[], bool], *, timeout: float, what: str, proc: subprocess.Popen | None = None,
               log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what}: process exited with {proc.returncode}\n{tail(log)}")
        with contextlib.suppress(Exception):
            if check():
                return
        time.sleep(0.25)
    raise AssertionError(f"{what}: not ready after {timeout:.0f} s\n{tail(log)}")


def tail(log: Path | None, lines: int = 40) -> str:
    if log is None or not log.exists():
        return ""
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((LOOPBACK, port)) == 0


def http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback test URL
        return response.status < 500


class Process:
    """One started program: own process group, output to a log file, stopped by PID."""

    def __init__(self, args: list[str], *, log: Path, env: dict[str, str] | None = None,
                 cwd: Path | None = None, user: str | None = None) -> None:
        self.log = log
        self._out = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(args, stdout=self._out, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                     user=user, start_new_session=True)

    def wait_ready(self, check: Callable[[], bool], *, timeout: float, what: str) -> None:
        wait_until(check, timeout=timeout, what=what, proc=self.proc, log=self.log)

    @contextlib.contextmanager
    def serving(self, check: Callable[[], bool], *, timeout: float, what: str) -> Iterator[Process]:
        """Wait until ready, yield, and stop the process whatever happens."""
        try:
            self.wait_ready(check, timeout=timeout, what=what)
            yield self
        finally:
            self.stop()

    def terminate(self) -> None:
        """SIGTERM to the group without waiting: several processes then stop in parallel."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)

    def stop(self, timeout: float = 20) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        # Children that outlived the leader (e.g. gunicorn/uvicorn workers) share its group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self._out.close()


# ---- PostgreSQL ---------------------------------------------------------------------------

def service_user() -> str | None:
    """PostgreSQL and PgBouncer will not run as root: use Debian's `postgres` user then."""
    return "postgres" if os.geteuid() == 0 else None


def owned_dir(prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    user = service_user()
    if user:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)
    return path


def chown_tree(path: Path) -> None:
    user = service_user()
    if not user:
        return
    entry = pwd.getpwnam(user)
    for p in [path, *path.rglob("*")]:
        os.chown(p, entry.pw_uid, entry.pw_gid)


def pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    path = shutil.which(name)
    assert path, f"{name} not found: run `make runtime-install` (installs postgresql from Debian)"
    return path


def pgbouncer_bin() -> str:
    path = shutil.which("pgbouncer") or ("/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer") else None)
    assert path, "pgbouncer not found: run `make runtime-install` (installs pgbouncer from Debian)"
    return path


def pgbouncer_version() -> str:
    out = subprocess.run([pgbouncer_bin(), "--version"], capture_output=True, text=True, check=True).stdout
    return out.splitlines()[0].split()[-1]


class Postgres:
    """A throwaway cluster: TLS on (self-signed), pg_hba rejecting every non-TLS TCP connection,
    SCRAM passwords; superuser access only over its private Unix socket."""

    HBA = "\n".join([
        "local   all  all                 trust",
        "hostssl all  all  127.0.0.1/32   scram-sha-256",
        "hostnossl all all 0.0.0.0/0      reject",
        "",
    ])

    def __init__(self, base: Path) -> None:
        self.dir = base
        self.data = base / "data"
        self.socket_dir = base / "socket"
        self.port = free_port()
        self.process: Process | None = None

    def start(self) -> Postgres:
        user = service_user()
        self.socket_dir.mkdir()
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=localhost", "-keyout", str(self.dir / "server.key"),
                        "-out", str(self.dir / "server.crt")], check=True, capture_output=True)
        os.chmod(self.dir / "server.key", 0o600)
        chown_tree(self.dir)
        subprocess.run([pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                        "-E", "UTF8", "--locale=C"], check=True, capture_output=True, user=user)
        (self.data / "pg_hba.conf").write_text(self.HBA)
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"\nlisten_addresses = '{LOOPBACK}'\nport = {self.port}\n"
                       f"unix_socket_directories = '{self.socket_dir}'\n"
                       f"ssl = on\nssl_cert_file = '{self.dir / 'server.crt'}'\n"
                       f"ssl_key_file = '{self.dir / 'server.key'}'\n"
                       "password_encryption = 'scram-sha-256'\nmax_connections = 100\n"
                       "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n")
        chown_tree(self.dir)
        self.process = Process([pg_bin("postgres"), "-D", str(self.data)], log=self.dir / "postgres.log",
                               user=user)
        self.process.wait_ready(lambda: self.sql("select 1") == "1", timeout=30, what="PostgreSQL")
        return self

    def sql(self, statement: str, database: str = "postgres") -> str:
        """As superuser over the Unix socket (setup only; Airflow goes through PgBouncer)."""
        out = subprocess.run([pg_bin("psql"), "-h", str(self.socket_dir), "-p", str(self.port), "-U", "postgres",
                              "-d", database, "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", statement],
                             capture_output=True, text=True, timeout=30)
        if out.returncode:
            raise AssertionError(out.stderr)
        return out.stdout.strip()

    def stop(self) -> None:
        if self.process:
            self.process.stop()


def psql(url: str, statement: str, *, timeout: float = 20) -> subprocess.CompletedProcess:
    """The Debian psql client against a libpq URL (a test's own connection)."""
    return subprocess.run([pg_bin("psql"), url, "-XAtq", "-c", statement], capture_output=True, text=True,
                          timeout=timeout)


class PgBouncer:
    def __init__(self, base: Path, ini: str, users: str) -> None:
        self.dir = base
        self.ini = base / "pgbouncer.ini"
        self.ini.write_text(ini)
        (base / "users.txt").write_text(users)
        os.chmod(base / "users.txt", 0o600)
        chown_tree(base)
        self.process: Process | None = None

    def start(self, port: int) -> PgBouncer:
        self.process = Process([pgbouncer_bin(), str(self.ini)], log=self.dir / "pgbouncer.log",
                               user=service_user())
        self.process.wait_ready(lambda: port_open(port), timeout=20, what="PgBouncer")
        return self

    def log(self) -> str:
        return self.process.log.read_text(errors="replace") if self.process else ""

    def stop(self) -> None:
        if self.process:
            self.process.stop()


# ---- moto ---------------------------------------------------------------------------------

class Moto:
    """moto's server mode: S3 and Secrets Manager over HTTP on loopback."""

    def __init__(self, base: Path, *, record: bool = False) -> None:
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        env = {**os.environ, "MOTO_ENABLE_RECORDING": "True", "MOTO_RECORDER_FILEPATH": str(base / "moto-recording")}
        self.process = Process([str(TOOLS_VENV / "bin" / "moto_server"), "-H", LOOPBACK, "-p", str(self.port)],
                               log=base / "moto.log", env=env if record else None)
        try:
            self.process.wait_ready(lambda: http_ok(f"{self.url}/moto-api/"), timeout=60, what="moto server")
        except BaseException:
            # No caller holds the object yet, so no fixture's finally can stop it.
            self.process.stop()
            raise

    def start_recording(self) -> None:
        """moto's recorder: every request from here on (the tests read back what was asked)."""
        for action in ("reset-recording", "start-recording"):
            request = urllib.request.Request(f"{self.url}/moto-api/recorder/{action}", method="POST", data=b"")
            urllib.request.urlopen(request, timeout=10).close()  # noqa: S310 - loopback test URL

    def recorded(self) -> list[dict]:
        """The requests recorded since start_recording: {method, url, body, ...} each."""
        import json
        with urllib.request.urlopen(f"{self.url}/moto-api/recorder/download-recording", timeout=10) as r:  # noqa: S310
            return [json.loads(line) for line in r.read().decode().splitlines()]

    def recorded_secret_ids(self) -> list[str]:
        import json
        ids = []
        for entry in self.recorded():
            body = entry.get("body") or ""
            if entry.get("body_encoded"):
                body = base64.b64decode(body).decode()
            if "SecretId" in body:
                ids.append(json.loads(body)["SecretId"])
        return ids

    def stop(self) -> None:
        self.process.stop()


def fake_aws_env(endpoint: str, region: str) -> dict[str, str]:
    """What EKS Pod Identity gives a pod, replaced for moto: static test credentials, and the
    endpoint through boto3's AWS_ENDPOINT_URL (the program's connection names no endpoint)."""
    return {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",  # noqa: S105
            "AWS_ENDPOINT_URL": endpoint, "AWS_DEFAULT_REGION": region}


def tools_python(code: str, *, env: dict[str, str], timeout: float = 60) -> str:
    """Run a snippet in the tools venv (boto3 against moto, for seeding and reading back)."""
    out = subprocess.run([str(TOOLS_VENV / "bin" / "python"), "-c", code], capture_output=True, text=True,
                         env={**os.environ, **env}, timeout=timeout)
    if out.returncode:
        raise AssertionError(out.stderr)
    return out.stdout


def airflow_python(code: str, *args: str, env: dict[str, str], timeout: float = 120) -> str:
    """Run a snippet (with `args` as sys.argv[1:]) with the tier's Airflow (what the installed
    Airflow itself answers): its stdout."""
    out = subprocess.run([str(AIRFLOW_VENV / "bin" / "python"), "-c", code, *args], capture_output=True, text=True,
                         env=env, timeout=timeout)
    if out.returncode:
        raise AssertionError(out.stderr)
    return out.stdout


@contextlib.contextmanager
def started(*items) -> Iterator[None]:
    try:
        yield
    finally:
        for item in reversed(items):
            item.stop()
