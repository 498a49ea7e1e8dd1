"""`commerce loadtest flash-sale` against the session's system: a clean sale passes its audit,
an order deleted behind the system's back fails it, and the CLI's exit code says so."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from serve_app.loadtest.audit import audit
from serve_app.loadtest.client import Api, HttpAuditApi, new_session
from serve_app.loadtest.command import run
from serve_app.loadtest.options import Options
from tests.helpers import users_with_tokens

REPO = Path(__file__).resolve().parents[2]
JSON_COLUMNS = {"shipping_address", "short_items"}


async def admin_token(system) -> str:
    (_, headers), = await users_with_tokens(system, "admin", 1)
    return headers["Authorization"].removeprefix("Bearer ")


async def remove_order(dsn: str, order_id: str) -> tuple[dict, list[dict]]:
    """Delete an order and its lines behind the system's back; return the rows to put back."""
    async with await psycopg.AsyncConnection.connect(dsn, row_factory=dict_row) as conn:
        order = await (await conn.execute("SELECT * FROM orders WHERE id = %s", (order_id,))).fetchone()
        lines = await (await conn.execute("SELECT * FROM order_lines WHERE order_id = %s", (order_id,))).fetchall()
        await conn.execute("DELETE FROM order_lines WHERE order_id = %s", (order_id,))
        await conn.execute("DELETE FROM orders WHERE id = %s", (order_id,))
        await conn.commit()
    return order, lines


async def put_back(dsn: str, order: dict, lines: list[dict]) -> None:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        for table, rows in (("orders", [order]), ("order_lines", lines)):
            for row in rows:
                values = [Jsonb(v) if k in JSON_COLUMNS and v is not None else v for k, v in row.items()]
                await conn.execute(
                    f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join(['%s'] * len(row))})", values)
        await conn.commit()


async def reaudit(system, result) -> object:
    async with new_session(8) as session:
        return await audit(result.observed, HttpAuditApi(Api(session, system.base_url), result.sale.seller_token),
                           tries=1)


async def test_a_clean_sale_passes_and_a_deleted_order_fails_the_audit(system, tmp_path):
    options = Options(base_url=system.base_url, stock=15, shoppers=8, count=300, duration_s=60, concurrency=16,
                      admin_token=await admin_token(system), out_dir=tmp_path, progress=False)
    result = await run(options)

    assert result.audit.ok, result.audit.failed()
    summary = result.data["summary"]
    assert (summary["attempts"], summary["created"], summary["out_of_stock"]) == (300, 15, 285)
    assert summary["latency_ms"]["p50"] > 0
    json_path, html_path = result.paths
    assert json.loads(json_path.read_text())["audit"]["ok"] is True
    assert html_path.read_text().count("<svg") == 2

    victim = result.observed.created()[0].final.order_id
    order, lines = await remove_order(system.settings.database_url, victim)
    try:
        planted = await reaudit(system, result)
    finally:
        await put_back(system.settings.database_url, order, lines)
    assert not planted.ok
    failed = {check.name: check.detail for check in planted.failed()}
    assert {"every 201 order exists", "seller's orders == acknowledged orders", "no oversell"} <= set(failed)
    assert victim in failed["every 201 order exists"]

    assert (await reaudit(system, result)).ok  # the rows are back: the same run passes again


def commerce(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "serve_app.cli", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=180)


async def test_the_cli_in_the_open_model_exits_0_on_a_passing_audit_and_3_when_set_up_fails(system, tmp_path):
    common = ["loadtest", "flash-sale", "--base-url", system.base_url, "--shoppers", "4", "--concurrency", "8",
              "--no-progress", "--out", str(tmp_path)]
    done = commerce(*common, "--stock", "5", "--count", "60", "--rate", "30", "--duration", "10",
                    "--admin-token", await admin_token(system))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "audit      : PASSED" in done.stdout and "(open model: 30 req/s)" in done.stdout
    assert "60 in" in done.stdout and "5 created (201), 55 out of stock (409)" in done.stdout
    assert len(list(tmp_path.glob("flash-sale-*.html"))) == 1

    refused = commerce(*common, "--stock", "5", "--count", "10", "--category", "no-such-category-here")
    assert refused.returncode == 3
    assert "no-such-category-here" in refused.stderr and "does not exist" in refused.stderr
