"""Pure RDS for PostgreSQL settings derived from the validated database configuration."""

from __future__ import annotations

ENGINE = "postgres"
PORT = 5432
DB_NAME = "airflow"
USERNAME = "airflow"
# What RDS can export to CloudWatch Logs for PostgreSQL: the server log and major-upgrade logs.
LOG_EXPORTS = ("postgresql", "upgrade")
# The Performance Insights free tier keeps 7 days; longer retention is billed per vCPU-month.
PERFORMANCE_INSIGHTS_RETENTION_DAYS = 7
# Clients must use TLS: the metadata connection carries the master password.
PARAMETERS = {"rds.force_ssl": "1"}


def parameter_group_family(engine_major: int) -> str:
    """`postgres16` for PostgreSQL 16: a parameter group only fits its own major."""
    return f"{ENGINE}{engine_major}"


def storage_autoscaling_ceiling(allocated_gb: int, maximum_gb: int) -> int:
    """`max_allocated_storage` for RDS: the configured ceiling, or 0 (autoscaling off).

    RDS rejects a ceiling less than 10% above the allocation ("The maximum allocated storage
    must be increased by at least 10 percent"); configuration allows `maximum == allocated`
    to mean "no growth", so any ceiling inside that band turns autoscaling off instead of
    failing the create.
    """
    return maximum_gb if maximum_gb * 10 >= allocated_gb * 11 else 0
