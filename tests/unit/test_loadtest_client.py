"""Checkout tries and the report, with a scripted API instead of a server."""

from __future__ import annotations

from serve_app.loadtest.client import Checkout, parse_checkout
from serve_app.loadtest.model import CREATED, OUT_OF_STOCK, UNRESOLVED, Attempt, Try
from serve_app.loadtest.report import html_page, text_lines


class ScriptedApi:
    def __init__(self, *answers):
        self.answers, self.sent = list(answers), []

    async def call(self, method, path, *, token=None, json=None, headers=None):
        self.sent.append((method, path, token, json, dict(headers or {})))
        status, body = self.answers.pop(0)
        return status, body, {"Retry-After": "1"} if status == 503 else {}


async def no_sleep(seconds: float) -> None:
    pass


def out_of_stock(order_id: str) -> dict:
    return {"error": {"code": "out_of_stock", "message": "...", "details": {"items": [], "order_id": order_id}}}


async def test_timeouts_and_503s_are_retried_with_the_same_key_until_answered():
    api = ScriptedApi((None, {"error": {"code": "timeout"}}), (503, {"error": {"code": "unavailable"}}),
                      (201, {"id": "o1", "status": "AWAITING_PAYMENT"}))
    attempt = Attempt(7, "key-7", 1)
    await Checkout(api, "p1", ["t0", "t1"], sleep=no_sleep)(attempt)
    assert attempt.outcome == CREATED and attempt.order_ids == {"o1"}
    assert [t.label for t in attempt.tries] == ["timeout", "503 unavailable", "201"]
    assert {(s[2], s[4]["Idempotency-Key"]) for s in api.sent} == {("t1", "key-7")}
    assert api.sent[0][3] == {"items": [{"product_id": "p1", "quantity": 1}]}


async def test_a_409_is_final_and_gives_up_after_max_tries():
    attempt = Attempt(0, "k", 0)
    await Checkout(ScriptedApi((409, out_of_stock("o9"))), "p1", ["t"], sleep=no_sleep)(attempt)
    assert attempt.outcome == OUT_OF_STOCK and attempt.order_ids == {"o9"} and len(attempt.tries) == 1
    attempt = Attempt(1, "k1", 0)
    api = ScriptedApi(*[(503, {"error": {"code": "unavailable"}})] * 3)
    await Checkout(api, "p1", ["t"], max_tries=3, sleep=no_sleep)(attempt)
    assert attempt.outcome == UNRESOLVED and len(attempt.tries) == 3 and not api.answers


def test_parse_checkout_reads_ids_and_codes():
    assert parse_checkout(201, {"id": "o1"}) == Try(201, None, "o1")
    assert parse_checkout(409, out_of_stock("o2")) == Try(409, "out_of_stock", "o2")
    assert parse_checkout(409, {"error": {"code": "idempotency_key_reused", "details": {}}}) == Try(
        409, "idempotency_key_reused", None)
    assert parse_checkout(500, None) == Try(500, None, None)
    assert parse_checkout(None, {"error": {"code": "timeout"}}) == Try(None, "timeout", None)


def result(ok: bool) -> dict:
    return {
        "run_id": "r1", "base_url": "http://127.0.0.1:1", "model": "closed", "load": "4 concurrent",
        "started_at": "2026-01-01T00:00:00+00:00", "options": {"stock": 3}, "settled_after_run": 0,
        "setup": {"product_id": "p1", "category": "c", "shoppers": 2},
        "summary": {"attempts": 5, "created": 3, "out_of_stock": 2, "unresolved": 0, "retried_attempts": 0,
                    "elapsed_s": 1.0, "served_rps": 5.0,
                    "latency_ms": {"p50": 1.0, "p90": 2.0, "p99": 3.0, "p99.9": 3.0, "max": 3.0},
                    "errors": {"final": {"201": 3, "409 out_of_stock": 2},
                               "all_tries": {"201": 3, "409 out_of_stock": 2}}},
        "timeline": [{"t_s": 0.0, "created_per_s": 3.0, "out_of_stock_per_s": 2.0, "p50_ms": 1.0, "p99_ms": 3.0},
                     {"t_s": 0.25, "created_per_s": 0.0, "out_of_stock_per_s": 0.0, "p50_ms": None, "p99_ms": None}],
        "audit": {"ok": ok, "checks": [{"name": "no oversell", "ok": ok, "detail": "reserved 3 + sold 0 <x>"}]},
    }


def test_the_html_report_is_self_contained_with_two_charts():
    page = html_page(result(False))
    assert page.count("<svg") == 2 and "audit FAILED" in page
    assert "&lt;x&gt;" in page and "<x>" not in page  # details are escaped
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "").replace("http://127.0.0.1:1", "")
    assert "audit PASSED" in html_page(result(True))


def test_the_text_report_names_each_check():
    lines = text_lines(result(False))
    assert any(line.startswith("latency ms : p50 1.0") for line in lines)
    assert "  [FAIL] no oversell: reserved 3 + sold 0 <x>" in lines
