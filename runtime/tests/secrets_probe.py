"""Read a connection, a variable and a config value through Airflow's configured secrets
backend chain ([secrets] backend/backend_kwargs from airflow.cfg), as a task or component would.

Prints RESULT{"connection": {...} | null, "variable": str | null, "outside_variable": ..., "config": ...}.
"""

import json
import sys

from airflow.configuration import conf, ensure_secrets_loaded
from airflow.models import Connection, Variable

conn_id, var_key, outside_key, config_key = sys.argv[1:5]
backends = ensure_secrets_loaded()
custom = [b for b in backends if type(b).__module__.startswith("airflow.providers.amazon")]
try:
    conn = Connection.get_connection_from_secrets(conn_id)
    connection = {"conn_type": conn.conn_type, "host": conn.host, "login": conn.login, "schema": conn.schema}
except Exception as error:  # reported, not hidden
    connection = {"error": f"{type(error).__name__}: {error}"}
print("RESULT" + json.dumps({
    "backend": conf.get("secrets", "backend"),
    "backends": [type(b).__name__ for b in backends],
    "connection": connection,
    "variable": Variable.get(var_key, default_var=None),
    "outside_variable": Variable.get(outside_key, default_var=None),
    "config": custom[0].get_config(config_key) if custom else "no amazon backend",
}))
