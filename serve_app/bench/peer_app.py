"""The peer of `commerce bench flash-sale`: the checkout a plain service would write.

FastAPI on uvicorn with a psycopg pool; per checkout one transaction: the order
row (its unique `(user_id, idem_key)` makes a retry return the first order),
then one conditional `UPDATE peer_stock SET available = available - q WHERE
available >= q`; no row updated is a 409 `out_of_stock` and nothing stays.
Same request and answers as `POST /api/orders`, bearer JWT (HS256) checked,
its own tables on the same PostgreSQL, durable commits. Started by the bench:

    PEER_DATABASE_URL=... PEER_JWT_SECRET=... uvicorn --factory serve_app.bench.peer_app:create_app
"""

from __future__ import annotations

import os
import uuid
from contextlib import asynccontextmanager

import jwt
from fastapi import FastAPI, Header
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from serve_app.responses import OrjsonResponse

SCHEMA = """
CREATE TABLE IF NOT EXISTS peer_stock (
    product_id uuid PRIMARY KEY,
    available  bigint NOT NULL CHECK (available >= 0)
);
CREATE TABLE IF NOT EXISTS peer_orders (
    id         uuid PRIMARY KEY,
    user_id    text NOT NULL,
    idem_key   text NOT NULL,
    product_id uuid NOT NULL REFERENCES peer_stock (product_id),
    quantity   integer NOT NULL CHECK (quantity > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, idem_key)
);
"""


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product_id: uuid.UUID
    quantity: StrictInt = Field(ge=1, le=99)


class Checkout(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[Item] = Field(min_length=1, max_length=1)


class OutOfStock(Exception):
    pass


def error(status: int, code: str, message: str) -> OrjsonResponse:
    return OrjsonResponse({"error": {"code": code, "message": message, "details": {}}}, status_code=status)


async def ensure_schema(conn: AsyncConnection) -> None:
    await conn.execute(SCHEMA)


async def place(conn: AsyncConnection, user_id: str, key: str, item: Item) -> tuple[int, dict]:
    order_id = uuid.uuid4()
    try:
        async with conn.transaction():
            inserted = await (await conn.execute(
                """INSERT INTO peer_orders (id, user_id, idem_key, product_id, quantity) VALUES (%s, %s, %s, %s, %s)
                   ON CONFLICT (user_id, idem_key) DO NOTHING RETURNING id""",
                (order_id, user_id, key, item.product_id, item.quantity))).fetchone()
            if inserted is None:  # a retry: the first order, changed nothing
                row = await (await conn.execute("SELECT id FROM peer_orders WHERE user_id = %s AND idem_key = %s",
                                                (user_id, key))).fetchone()
                return 201, {"id": str(row[0]), "status": "CONFIRMED"}
            updated = await conn.execute(
                "UPDATE peer_stock SET available = available - %s WHERE product_id = %s AND available >= %s",
                (item.quantity, item.product_id, item.quantity))
            if updated.rowcount != 1:
                raise OutOfStock  # rolls the order back
    except OutOfStock:
        return 409, {"error": {"code": "out_of_stock", "message": "Out of stock.", "details": {}}}
    return 201, {"id": str(order_id), "status": "CONFIRMED"}


def create_app() -> FastAPI:
    dsn, secret = os.environ["PEER_DATABASE_URL"], os.environ["PEER_JWT_SECRET"]
    pool_size = int(os.environ.get("PEER_POOL_SIZE", "16"))
    pool = AsyncConnectionPool(dsn, min_size=pool_size, max_size=pool_size, open=False, kwargs={"autocommit": True})

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await pool.open(wait=True, timeout=30)
        try:
            yield
        finally:
            await pool.close()

    app = FastAPI(title="peer checkout", lifespan=lifespan, default_response_class=OrjsonResponse)

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok"}

    @app.post("/api/orders", status_code=201)
    async def checkout(body: Checkout, authorization: str = Header(default=""),
                       idempotency_key: str = Header(default="", max_length=200)):
        try:
            claims = jwt.decode(authorization.removeprefix("Bearer "), secret, algorithms=["HS256"])
        except jwt.PyJWTError:
            return error(401, "not_authenticated", "A valid bearer token is required.")
        key = idempotency_key or uuid.uuid4().hex
        async with pool.connection() as conn:
            status, view = await place(conn, str(claims["sub"]), key, body.items[0])
        return OrjsonResponse(view, status_code=status)

    return app
