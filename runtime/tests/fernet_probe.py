"""Read a connection's password and a variable's value straight from the metadata database,
decrypted with each given `[core] fernet_key` in turn, as every Airflow component does
(airflow.models: Connection.get_password, Variable.get_val; get_fernet builds the key once
per process, so its cache is cleared for each key).

Prints RESULT[{"password": <sha256 prefix> | null, "password_error": <exception> | null,
"variable": <sha256 prefix> | null}, ...], one per key (digests: the values are never printed).
"""

import hashlib
import json
import os
import sys

from airflow.configuration import conf
from airflow.models import Connection, Variable, crypto
from airflow.utils.session import create_session


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def read(conn_id: str, key: str) -> dict:
    out = {"password": None, "password_error": None, "variable": None}
    try:
        # Loading the row already decrypts the password (Connection.on_db_load masks it in logs).
        with create_session() as session:
            conn = session.query(Connection).filter(Connection.conn_id == conn_id).one()
            out["password"] = digest(conn.password)
    except Exception as error:  # an undecryptable password raises; reported, not hidden
        out["password_error"] = type(error).__name__
    with create_session() as session:
        variable = session.query(Variable).filter(Variable.key == key).one()
        value = variable.val  # None when it cannot be decrypted (Variable.get_val logs why)
        out["variable"] = digest(value) if value is not None else None
    return out


conn_id, key, *fernet_keys = sys.argv[1:]
# The chart's environment sets the key (from the Secret); the environment wins over conf.set.
os.environ.pop("AIRFLOW__CORE__FERNET_KEY", None)
results = []
for fernet_key in fernet_keys:
    conf.set("core", "fernet_key", fernet_key)
    # get_fernet's cache of the previous key: a module global up to Airflow 3.1, functools.cache from 3.2.
    crypto._fernet = None
    if hasattr(crypto.get_fernet, "cache_clear"):
        crypto.get_fernet.cache_clear()
    results.append(read(conn_id, key))
print("RESULT" + json.dumps(results))
