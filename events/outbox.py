"""Writing events to the outbox inside the caller's transaction.

`append_events` never commits: the state change and its events commit or roll
back together (DESIGN.md invariant 4). A NOTIFY wakes the relay at commit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from events.envelope import NewEvent

NOTIFY_CHANNEL = "commerce_outbox"


async def append_events(conn: AsyncConnection, events: Iterable[NewEvent]) -> int:
    """Insert events in the open transaction; return how many were written."""
    by_aggregate: dict[tuple[str, str], list[NewEvent]] = defaultdict(list)
    for event in events:
        by_aggregate[(event.aggregate_type, event.aggregate_id)].append(event)
    if not by_aggregate:
        return 0
    rows = []
    async with conn.cursor() as cur:
        for (aggregate_type, aggregate_id), batch in by_aggregate.items():
            # One upsert per aggregate reserves a block of sequence numbers.
            await cur.execute(
                """INSERT INTO aggregate_sequences (aggregate_type, aggregate_id, last_sequence)
                   VALUES (%s, %s, %s)
                   ON CONFLICT (aggregate_type, aggregate_id)
                   DO UPDATE SET last_sequence = aggregate_sequences.last_sequence + EXCLUDED.last_sequence
                   RETURNING last_sequence""",
                (aggregate_type, aggregate_id, len(batch)),
            )
            last = _scalar(await cur.fetchone())
            first = last - len(batch) + 1
            for offset, event in enumerate(batch):
                rows.append((
                    event.id, event.type, aggregate_type, aggregate_id, first + offset,
                    event.occurred_at, event.correlation_id, Jsonb(event.data),
                ))
        await cur.executemany(
            """INSERT INTO outbox (id, type, aggregate_type, aggregate_id, sequence,
                                   occurred_at, correlation_id, data)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
            rows,
        )
        await cur.execute(f"NOTIFY {NOTIFY_CHANNEL}")
    return len(rows)


def _scalar(row) -> int:
    # Works whatever row factory the caller's connection uses.
    return next(iter(row.values())) if isinstance(row, dict) else row[0]
