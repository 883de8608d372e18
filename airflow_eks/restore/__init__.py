"""Bringing back what a teardown kept: the metadata database from an RDS snapshot, the kept
buckets, and the Fernet key that encrypted the database's connections and variables.

Pure checks (snapshot identifiers and ARNs, S3 bucket names, Fernet keys, what RDS accepts for
a restore) live in `sources` and `fernet`; the two AWS look-ups made while the configuration
is validated (the snapshot and the buckets) in `lookups`; `settings` reads and checks the
configuration keys. Nothing here registers a resource: components/database.py restores,
components/buckets.py adopts, components/airflow_secrets.py carries the key.
"""
