"""Writing events to the outbox inside the caller's transaction.

`append_events` never commits: the state change and its events commit or roll
back together (DESIGN.md invariant 4). A NOTIFY wakes the relay at commit.
Three statements whatever the number of events (a group commit may carry
hundreds): one reserves every aggregate's sequence numbers, one inserts every
row (as one JSON document, see storage/records.py), one notifies.
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
    keys = list(by_aggregate)
    cur = await conn.execute(
        """INSERT INTO aggregate_sequences (aggregate_type, aggregate_id, last_sequence)
           SELECT * FROM unnest(%s::text[], %s::text[], %s::bigint[])
           ON CONFLICT (aggregate_type, aggregate_id)
           DO UPDATE SET last_sequence = aggregate_sequences.last_sequence + EXCLUDED.last_sequence
           RETURNING aggregate_type, aggregate_id, last_sequence""",
        ([t for t, _ in keys], [a for _, a in keys], [len(by_aggregate[k]) for k in keys]),
    )
    last_by_key = {(_col(row, 0), _col(row, 1)): _col(row, 2) for row in await cur.fetchall()}
    rows = []
    for key, batch in by_aggregate.items():
        first = last_by_key[key] - len(batch) + 1
        for offset, event in enumerate(batch):
            rows.append({
                "id": event.id, "type": event.type, "aggregate_type": key[0], "aggregate_id": key[1],
                "sequence": first + offset, "occurred_at": event.occurred_at,
                "correlation_id": event.correlation_id, "data": event.data,
            })
    await conn.execute(
        """INSERT INTO outbox (id, type, aggregate_type, aggregate_id, sequence, occurred_at, correlation_id, data)
           SELECT * FROM json_to_recordset(%s::json) AS e(
               id uuid, type text, aggregate_type text, aggregate_id text, sequence bigint,
               occurred_at timestamptz, correlation_id text, data jsonb)""",
        (json_rows(rows),),
    )
    await conn.execute(f"NOTIFY {NOTIFY_CHANNEL}")
    return len(rows)


def _col(row, index: int):
    # Works whatever row factory the caller's connection uses.
    return list(row.values())[index] if isinstance(row, dict) else row[index]
