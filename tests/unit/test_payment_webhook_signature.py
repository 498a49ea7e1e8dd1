"""Stripe-Signature verification: genuine, forged, stale, malformed."""

from __future__ import annotations

import json
import time

import pytest
import stripe

from serve_app.payments.webhooks import BadSignature, verify

SECRET = "whsec_unit_test_secret"
EVENT = json.dumps({"id": "evt_1", "type": "payment_intent.succeeded", "object": "event",
                    "data": {"object": {"id": "pi_1", "object": "payment_intent", "status": "succeeded"}}})


def signed(payload: str, secret: str = SECRET, at: float | None = None) -> str:
    return stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=int(at or time.time()))


def test_a_genuine_event_is_returned_as_a_dict():
    event = verify(EVENT.encode(), signed(EVENT), SECRET, 300)
    assert event["id"] == "evt_1" and event["data"]["object"]["status"] == "succeeded"


@pytest.mark.parametrize("header", [
    signed(EVENT, secret="whsec_someone_else"),
    signed(EVENT.replace("succeeded", "failed")),  # signature of another payload
    "t=123", "garbage", "", None,
])
def test_a_forged_or_missing_signature_is_invalid(header):
    with pytest.raises(BadSignature) as info:
        verify(EVENT.encode(), header, SECRET, 300)
    assert info.value.code == "invalid_signature"


def test_an_old_genuine_signature_is_stale():
    with pytest.raises(BadSignature) as info:
        verify(EVENT.encode(), signed(EVENT, at=time.time() - 301), SECRET, 300)
    assert info.value.code == "stale_signature"
    assert verify(EVENT.encode(), signed(EVENT, at=time.time() - 200), SECRET, 300)["id"] == "evt_1"


def test_a_signed_payload_that_is_not_an_event_is_refused():
    for payload in ("not json", json.dumps({"no": "id"})):
        with pytest.raises(BadSignature) as info:
            verify(payload.encode(), signed(payload), SECRET, 300)
        assert info.value.code == "invalid_payload"
