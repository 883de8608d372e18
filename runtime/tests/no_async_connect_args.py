"""Negative control of test_async_database: Airflow's async engine without the program's
connect args (asyncpg's and SQLAlchemy's defaults)."""

ARGS: dict = {}
