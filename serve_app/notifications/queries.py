"""Reading a user's notifications: cursor pages, newest first."""

from __future__ import annotations

import uuid

from serve_app.identity.tokens import Principal
from serve_app.pagination import aware_datetime, decode_cursor, encode_cursor, split_page, uuid_id
from serve_app.services import Services
from storage import notifications as sql

CURSOR_SCOPE = "notifications"


def _public(row: dict) -> dict:
    return {
        "id": str(row["id"]), "event_id": str(row["event_id"]), "event_type": row["event_type"],
        "channel": row["channel"], "template": row["template"], "recipient": row["recipient"],
        "subject": row["subject"], "body": row["body"], "status": row["status"], "skip_reason": row["skip_reason"],
        "attempts": row["attempts"], "created_at": row["created_at"].isoformat(),
        "sent_at": row["sent_at"].isoformat() if row["sent_at"] else None,
    }


async def my_notifications(services: Services, principal: Principal, *, cursor: str | None, limit: int) -> dict:
    after = decode_cursor(cursor, CURSOR_SCOPE, (aware_datetime, uuid_id)) if cursor else None
    async with services.pool.connection() as conn:
        rows = await sql.page_for_user(conn, uuid.UUID(principal.user_id), after=after, limit=limit + 1)
    page, last = split_page(rows, limit)
    next_cursor = last and encode_cursor(CURSOR_SCOPE, [last["created_at"].isoformat(), str(last["id"])])
    return {"items": [_public(row) for row in page], "next_cursor": next_cursor}
