"""Migrations are versioned, recorded, and idempotent."""

import uuid

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from storage.migrate import available_migrations, migrate


@pytest.fixture
def fresh_database(system):
    dsn = system.settings.database_url
    name = f"migtest_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    params = conninfo_to_dict(dsn)
    params["dbname"] = name
    yield make_conninfo(**params)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


async def test_second_run_applies_nothing(fresh_database):
    first = await migrate(fresh_database)
    assert [m.version for m in first] == [m.version for m in available_migrations()]
    second = await migrate(fresh_database)
    assert second == []
    async with await psycopg.AsyncConnection.connect(fresh_database) as conn:
        rows = await (await conn.execute("SELECT version FROM schema_migrations ORDER BY version")).fetchall()
    assert [r[0] for r in rows] == [m.version for m in available_migrations()]


async def test_concurrent_migrators_apply_once(fresh_database):
    import asyncio

    results = await asyncio.gather(*(migrate(fresh_database) for _ in range(3)))
    assert sorted(len(r) for r in results) == [0, 0, len(available_migrations())]
