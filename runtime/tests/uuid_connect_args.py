"""Control of test_async_database: SQLAlchemy's documented PgBouncer recipe without its NullPool
and DISCARD (which Airflow's async engine cannot have): a UUID name per statement."""

import uuid

ARGS = {
    "statement_cache_size": 0,
    "prepared_statement_cache_size": 0,
    "prepared_statement_name_func": lambda: f"__asyncpg_{uuid.uuid4()}__",
}
