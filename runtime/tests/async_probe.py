"""Open many concurrent sessions of Airflow's own async engine (settings.async_engine), as the
API server's async endpoints do; run with the venv's Python and a component's environment.

Prints RESULT{"ok": n, "errors": {message: count}, "url": async URL without password}.
"""

import asyncio
import collections
import json
import sys

from sqlalchemy import select, text


async def main(workers: int, rounds: int) -> None:
    from airflow import settings
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session_async

    errors: collections.Counter = collections.Counter()
    ok = 0

    async def worker(i: int) -> None:
        nonlocal ok
        for _ in range(rounds):
            try:
                async with create_session_async() as session:
                    # Two different statements per session, one with a parameter.
                    await session.scalar(select(DagRun).limit(1))
                    await session.execute(text("select count(*) from dag where dag_id <> :x"), {"x": str(i)})
                ok += 1
            except Exception as error:  # every failure is counted and reported, none hidden
                errors[f"{type(error).__name__}: {str(error).splitlines()[0][:150]}"] += 1

    await asyncio.gather(*(worker(i) for i in range(workers)))
    url = settings.async_engine.url.render_as_string(hide_password=True)
    await settings.async_engine.dispose()
    print("RESULT" + json.dumps({"ok": ok, "errors": errors, "url": url}))


asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
