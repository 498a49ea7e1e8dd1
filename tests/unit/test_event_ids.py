"""Event ids are time-ordered UUIDs (v7), so the outbox's unique index on id
takes each insert at its right edge instead of a random leaf page."""

from events.envelope import NewEvent


def test_event_ids_are_uuid7_and_follow_creation_order():
    events = [NewEvent(type="STOCK_RESERVED", aggregate_id="p", data={"n": i}) for i in range(200)]
    assert {event.id.version for event in events} == {7}
    assert [event.id for event in events] == sorted(event.id for event in events)
    assert len({event.id for event in events}) == len(events)
