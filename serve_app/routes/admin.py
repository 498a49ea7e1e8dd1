"""Routes: operations (API.md "Operations"): the event log and dead letters. Admins only."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query

from domain.errors import Conflict, NotFound
from events import admin as ops
from serve_app.auth import require_roles
from serve_app.pagination import PageCursor, PageLimit, bigint, decode_cursor, encode_cursor, split_page
from serve_app.services import Services, get_services

router = APIRouter(tags=["operations"], dependencies=[Depends(require_roles("admin"))])


@router.get("/api/admin/events", summary="The event log (outbox), oldest first")
async def events(
    services: Services = Depends(get_services),
    type: str | None = Query(default=None, max_length=64),
    aggregate_id: str | None = Query(default=None, max_length=128),
    since: datetime | None = Query(default=None, description="RFC 3339 time"),
    limit: PageLimit = 20,
    cursor: PageCursor = None,
):
    after = decode_cursor(cursor, "events", (bigint,))[0] if cursor else None
    async with services.pool.connection() as conn:
        rows = await ops.list_events(conn, type_=type, aggregate_id=aggregate_id, since=since,
                                     after_position=after, limit=limit + 1)
    page, last = split_page(rows, limit)
    return {
        "items": [{**row, "id": str(row["id"])} for row in page],
        "next_cursor": last and encode_cursor("events", [last["position"]]),
    }


@router.get("/api/admin/dead-letters", summary="Events a consumer gave up on")
async def dead_letters(
    services: Services = Depends(get_services), include_retried: bool = False,
    limit: PageLimit = 20, cursor: PageCursor = None,
):
    after = decode_cursor(cursor, "dead-letters", (bigint,))[0] if cursor else None
    async with services.pool.connection() as conn:
        rows = await ops.list_dead_letters(conn, include_retried=include_retried, after_id=after, limit=limit + 1)
    page, last = split_page(rows, limit)
    return {
        "items": [{**row, "event_id": str(row["event_id"])} for row in page],
        "next_cursor": last and encode_cursor("dead-letters", [last["id"]]),
    }


@router.post("/api/admin/dead-letters/{dead_letter_id}/retry", status_code=202,
             summary="Publish the event again for the consumer that gave up on it")
async def retry(dead_letter_id: int, services: Services = Depends(get_services)):
    async with services.pool.connection() as conn:
        row = await (await conn.execute(
            "SELECT event_type FROM dead_letters WHERE id = %s", (dead_letter_id,)
        )).fetchone()
        if row is None:
            raise NotFound("No such dead letter.", code="dead_letter_not_found")
        if row["event_type"] == "UNDECODABLE":
            raise Conflict("An undecodable message cannot be retried.", code="not_retryable")
        updated = await ops.retry_dead_letter(conn, services.nats, dead_letter_id)
    return {**updated, "event_id": str(updated["event_id"])}
