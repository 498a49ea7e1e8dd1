"""The courier webhook's signature and report shape."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from actors.delivery.webhook import CourierReport, InvalidSignature, sign, verify

SECRET = "courier-secret-0123456789"
BODY = b'{"shipment_id":"6f1c2a8e-5d0b-4c57-9a43-0e8f3b7d2c61","status":"picked_up","event_id":"e-1"}'
NOW = 1_800_000_000


def test_a_fresh_signature_over_the_exact_body_passes():
    verify(BODY, sign(BODY, SECRET, NOW), SECRET, now=NOW + 10)


def test_one_matching_signature_among_several_passes_while_a_secret_rotates():
    header = sign(BODY, "the-old-secret-0000000", NOW) + "," + sign(BODY, SECRET, NOW).split(",")[1]
    verify(BODY, header, SECRET, now=NOW)


@pytest.mark.parametrize("header", [
    None, "", "v1=abc", "t=abc,v1=00", f"t={NOW}",
    sign(BODY, "another-secret-000000", NOW),
    sign(BODY + b" ", SECRET, NOW),  # signed a different body
    sign(BODY, SECRET, NOW - 301),  # too old
    sign(BODY, SECRET, NOW + 301),  # from the future
])
def test_anything_else_is_refused(header):
    with pytest.raises(InvalidSignature) as refused:
        verify(BODY, header, SECRET, now=NOW)
    assert refused.value.code == "invalid_signature"


def test_a_report_names_a_shipment_and_one_of_two_steps():
    report = CourierReport.model_validate_json(BODY)
    assert report.status == "picked_up" and report.event_id == "e-1"
    CourierReport(tracking_number="SIMABC", status="delivered", event_id="e-2")
    for bad in ({"status": "delivered", "event_id": "e"},  # no shipment named
                {"tracking_number": "T", "status": "lost", "event_id": "e"},
                {"tracking_number": "T", "status": "delivered", "event_id": ""},
                {"tracking_number": "T", "status": "delivered", "event_id": "e", "extra": 1}):
        with pytest.raises(ValidationError):
            CourierReport.model_validate(bad)
