"""Writing events to the outbox inside the caller's transaction.

`append_events` never commits: the state change and its events commit or roll
back together (DESIGN.md invariant 4). A NOTIFY wakes the relay at commit.
One statement whatever the number of events (a group commit may carry
hundreds): data-modifying CTEs reserve every aggregate's sequence numbers and
insert every row (sent as one JSON document, see storage/records.py), and
`pg_notify` wakes the relay at commit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from psycopg import AsyncConnection

from events.envelope import NewEvent
from storage.records import json_rows

NOTIFY_CHANNEL = "commerce_outbox"


async def append_events(conn: AsyncConnection, events: Iterable[NewEvent]) -> int:
    """Insert events in the open transaction; return how many were written."""
    by_aggregate: dict[tuple[str, str], list[NewEvent]] = defaultdict(list)
    for event in events:
        by_aggregate[(event.aggregate_type, event.aggregate_id)].append(event)
    if not by_aggregate:
        return 0
    rows = [
        {"id": event.id, "type": event.type, "aggregate_type": key[0], "aggregate_id": key[1],
         "ordinal": ordinal, "occurred_at": event.occurred_at, "correlation_id": event.correlation_id,
         "data": event.data}
        for key, batch in by_aggregate.items() for ordinal, event in enumerate(batch, start=1)
    ]
    # Each aggregate reserves its next `n` sequence numbers; its events take them in order.
    await conn.execute(
        f"""WITH e AS (
                SELECT * FROM json_to_recordset(%s::json) AS e(
                    id uuid, type text, aggregate_type text, aggregate_id text, ordinal bigint,
                    occurred_at timestamptz, correlation_id text, data jsonb)),
            counts AS (SELECT aggregate_type, aggregate_id, count(*) AS n FROM e GROUP BY 1, 2),
            reserved AS (
                INSERT INTO aggregate_sequences (aggregate_type, aggregate_id, last_sequence)
                SELECT aggregate_type, aggregate_id, n FROM counts
                ON CONFLICT (aggregate_type, aggregate_id)
                DO UPDATE SET last_sequence = aggregate_sequences.last_sequence + EXCLUDED.last_sequence
                RETURNING aggregate_type, aggregate_id, last_sequence),
            written AS (
                INSERT INTO outbox (id, type, aggregate_type, aggregate_id, sequence, occurred_at,
                                    correlation_id, data)
                SELECT e.id, e.type, e.aggregate_type, e.aggregate_id,
                       r.last_sequence - c.n + e.ordinal, e.occurred_at, e.correlation_id, e.data
                  FROM e JOIN counts c USING (aggregate_type, aggregate_id)
                         JOIN reserved r USING (aggregate_type, aggregate_id)
                RETURNING 1)
           SELECT (SELECT count(*) FROM written), pg_notify('{NOTIFY_CHANNEL}', '')""",
        (json_rows(rows),),
    )
    return len(rows)
