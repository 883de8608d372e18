"""Test 4: the airflow.cfg the chart renders with the program's values (dev and prod) loads in
the default Airflow, and `airflow config lint` finds nothing but the explained findings below.

No change to the file: lint reads it as rendered (plus the API server container's env, as
in the pod), against a metadata URL nobody connects to.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from . import airflow_env, program, services

# Every finding `airflow config lint` may report, and why it is accepted. None is about a key
# the program sets: these are chart 1.19.0 defaults kept for Airflow 2, or deliberate choices.
ACCEPTED = {
    r"Changed default value of `executor` in `core` from `SequentialExecutor` to `LocalExecutor`\. "
    r"You currently have `KubernetesExecutor` set\.":
        "informational: the program chooses KubernetesExecutor deliberately",
    r"`sql_alchemy_conn` configuration parameter moved from `core` section to `database` section":
        "the chart sets AIRFLOW__CORE__SQL_ALCHEMY_CONN next to AIRFLOW__DATABASE__SQL_ALCHEMY_CONN "
        "(both from the program's metadata Secret) for Airflow 2; Airflow 3 reads [database]",
    r"`enable_proxy_fix` configuration parameter moved from `webserver` section to `fab` section":
        "chart default [webserver] enable_proxy_fix; the chart also renders [fab] enable_proxy_fix",
    r"`statsd_(on|host|port|prefix)` configuration parameter moved from `scheduler` section to `metrics` section":
        "chart default [scheduler] statsd_*; the chart also renders the [metrics] keys Airflow 3 reads",
}


def lint_findings(output: str) -> list[str]:
    return [line.strip()[2:].strip() for line in output.splitlines() if line.strip().startswith("- ")]


@pytest.mark.parametrize("stack_name", ["dev", "prod"])
def test_rendered_airflow_cfg_loads_in_airflow_and_lints_clean(stack_name, tmp_path):
    gen = program.generated(stack_name)
    cfg = gen.airflow_cfg()
    home = airflow_env.AirflowHome(tmp_path, gen, pgbouncer_port=1)
    env = home.env("Deployment", "api-server")
    # Lint the file exactly as rendered (AirflowHome mounted a localized copy for running).
    (Path(env["AIRFLOW_HOME"]) / "airflow.cfg").write_text(cfg)

    result = home.run("config", "lint", env=env, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    unexplained = [f for f in lint_findings(result.stdout) if not any(re.search(p, f) for p in ACCEPTED)]
    assert not unexplained, f"airflow config lint ({stack_name}):\n" + "\n".join(unexplained)

    # Every option the program sets (values `config`) is what Airflow reads back, with the
    # type Airflow reads it as (Pulumi passes numbers as floats: 2 must not arrive as "2.0").
    wanted = {f"{section}.{key}": value for section, options in gen.values["config"].items()
              for key, value in options.items()}
    read = json.loads(airflow_python(READ_TYPED, env, json.dumps(wanted)))
    for name, value in wanted.items():
        if isinstance(value, bool) or str(value) in ("True", "False"):
            assert read[name] == (str(value) == "True"), (name, read[name], value)
        elif isinstance(value, int | float):
            assert read[name] == value and float(value).is_integer(), (name, read[name], value)
        else:
            assert read[name] == value, (name, read[name], value)


READ_TYPED = """
import json, sys
from airflow.configuration import conf
out = {}
for name, value in json.loads(sys.argv[1]).items():
    section, key = name.split(".", 1)
    if isinstance(value, bool) or str(value) in ("True", "False"):
        out[name] = conf.getboolean(section, key)
    elif isinstance(value, (int, float)):
        out[name] = conf.getint(section, key)
    else:
        out[name] = conf.get(section, key)
print("RESULT" + json.dumps(out))
"""


def airflow_python(code: str, env: dict, *args: str) -> str:
    result = subprocess.run([str(services.AIRFLOW_VENV / "bin" / "python"), "-c", code, *args], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.split("RESULT", 1)[1]
