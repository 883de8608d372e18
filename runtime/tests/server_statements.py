"""Count the prepared statements PostgreSQL holds on PgBouncer's server connections: `n` client
connections through PgBouncer, each held in a transaction at once so that each sits on a
server connection of its own, each asks its backend. Run with the Airflow venv's Python.

Prints RESULT{"server_connections": distinct backends asked, "statements": total}.
"""

import json
import sys

import psycopg2

url, n = sys.argv[1], int(sys.argv[2])
conns, counts = [], {}
try:
    for _ in range(n):
        conn = psycopg2.connect(url, connect_timeout=10)
        conns.append(conn)
        with conn.cursor() as cursor:  # psycopg2 opens the transaction here
            cursor.execute("select pg_backend_pid(), count(*) from pg_prepared_statements")
            pid, count = cursor.fetchone()
        counts[pid] = count
finally:
    for conn in conns:
        conn.rollback()  # back to PgBouncer's pool cleanly, not dropped mid-transaction
        conn.close()
print("RESULT" + json.dumps({"server_connections": len(counts), "statements": sum(counts.values())}))
