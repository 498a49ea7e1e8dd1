"""Retrying with backoff and jitter, Stripe error classes, intents as outcomes, settings."""

from __future__ import annotations

import pytest
import stripe

from config import SettingsError, load_settings
from serve_app.payments.gateway import with_backoff
from serve_app.payments.stripe_gateway import outcome_of, retryable


class Flaky:
    def __init__(self, errors):
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


class Sleeps:
    def __init__(self):
        self.delays = []

    async def __call__(self, delay):
        self.delays.append(delay)


async def test_transient_errors_are_retried_with_exponential_backoff_and_jitter():
    sleeps = Sleeps()
    call = Flaky([TimeoutError(), TimeoutError(), TimeoutError()])
    result = await with_backoff(call, retryable=lambda e: isinstance(e, TimeoutError), attempts=4,
                                base_s=0.5, cap_s=1.5, sleep=sleeps, rand=lambda: 0.5)
    assert result == "ok" and call.calls == 4
    assert sleeps.delays == [0.25, 0.5, 0.75]  # half (the jitter) of 0.5, 1.0, then the 1.5 cap


async def test_jitter_spreads_delays_between_zero_and_the_step():
    sleeps = Sleeps()
    await with_backoff(Flaky([TimeoutError()]), retryable=lambda e: True, base_s=1.0, sleep=sleeps, rand=lambda: 0.0)
    assert sleeps.delays == [0.0]


async def test_other_errors_and_the_last_attempt_are_raised():
    sleeps = Sleeps()
    call = Flaky([ValueError("bad")])
    with pytest.raises(ValueError):
        await with_backoff(call, retryable=lambda e: isinstance(e, TimeoutError), sleep=sleeps)
    assert call.calls == 1 and sleeps.delays == []
    call = Flaky([TimeoutError()] * 3)
    with pytest.raises(TimeoutError):
        await with_backoff(call, retryable=lambda e: True, attempts=3, sleep=sleeps)
    assert call.calls == 3


@pytest.mark.parametrize(("error", "expected"), [
    (stripe.APIConnectionError("timed out"), True),
    (stripe.RateLimitError("slow down", http_status=429), True),
    (stripe.APIError("boom", http_status=500), True),
    (stripe.APIError("bad gateway", http_status=502), True),
    (stripe.IdempotencyError("in flight", http_status=409), True),
    (stripe.CardError("declined", None, "card_declined", http_status=402), False),
    (stripe.InvalidRequestError("no such pm", None, http_status=404), False),
    (stripe.AuthenticationError("bad key", http_status=401), False),
])
def test_which_stripe_errors_are_retried(error, expected):
    assert retryable(error) is expected


@pytest.mark.parametrize(("intent", "status", "reason"), [
    ({"id": "pi_1", "status": "succeeded"}, "succeeded", None),
    ({"id": "pi_1", "status": "processing"}, "pending", None),
    ({"id": "pi_1", "status": "requires_payment_method",
      "last_payment_error": {"code": "card_declined", "decline_code": "insufficient_funds"}}, "failed",
     "insufficient_funds"),
    ({"id": "pi_1", "status": "requires_payment_method", "last_payment_error": None}, "failed", "payment_failed"),
    ({"id": "pi_1", "status": "requires_action"}, "failed", "authentication_required"),
    ({"id": "pi_1", "status": "canceled"}, "failed", "canceled"),
])
def test_intents_map_to_outcomes(intent, status, reason):
    outcome = outcome_of(intent)
    assert (outcome.status, outcome.intent_id, outcome.reason) == (status, "pi_1", reason)


def test_the_stripe_gateway_needs_a_key_and_an_http_base(tmp_path):
    with pytest.raises(SettingsError, match="COMMERCE_STRIPE_API_KEY"):
        load_settings(state_dir=tmp_path, payment_gateway="stripe", _env_file=None)
    with pytest.raises(SettingsError, match="COMMERCE_STRIPE_API_BASE"):
        load_settings(state_dir=tmp_path, stripe_api_base="localhost:1234", _env_file=None)
    settings = load_settings(state_dir=tmp_path, payment_gateway="stripe", stripe_api_key="sk_test_1",
                             stripe_api_base="http://127.0.0.1:1234/", _env_file=None)
    assert settings.stripe_api_base == "http://127.0.0.1:1234"
    assert load_settings(state_dir=tmp_path, _env_file=None).payment_gateway == "simulated"
