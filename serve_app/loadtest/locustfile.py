"""The flash sale under Locust (optional extra `loadtest`: `pip install -e ".[loadtest]"`):

    locust -f serve_app/loadtest/locustfile.py --host http://127.0.0.1:8000 \\
        --headless -u 200 -r 50 -t 30s --stop-timeout 10 --flash-stock 1000 --flash-admin-token "$ADMIN_TOKEN"

Set-up (not measured) in `test_start`: a seller, a category (`--flash-category`, or created with
`--flash-admin-token`, or the first one that exists) and the hot product with `--flash-stock` units.
Each simulated user registers a shopper in `on_start`, then checks out the product again and again,
each checkout with its own Idempotency-Key, a timeout or a 503 retried with the same key.
`--flash-max-checkouts` bounds the attempts (besides `-t`). At `test_stop` the attempts still
unanswered are resent with their keys and the audit of `commerce loadtest flash-sale` runs
(`audit.evaluate`); a failed check makes the exit code 1. Distributed: each worker runs its own
sale (its own product and stock) and audits it; the master does neither.
"""

from __future__ import annotations

import logging
import secrets
import uuid

import gevent
import requests
from gevent.pool import Pool
from locust import HttpUser, constant, events, task
from locust.exception import StopUser
from locust.runners import LocalRunner, MasterRunner

from serve_app.loadtest.audit import Snapshot, evaluate, settled
from serve_app.loadtest.client import RETRIED_STATUSES, parse_checkout
from serve_app.loadtest.model import UNRESOLVED, Attempt, Observed
from serve_app.loadtest.setup import DEFAULT_CATEGORY, EMAIL_DOMAIN

log = logging.getLogger("flash-sale")
TIMEOUT_S = 10


@events.init_command_line_parser.add_listener
def _options(parser) -> None:
    parser.add_argument("--flash-stock", type=int, default=1000, env_var="FLASH_STOCK", include_in_web_ui=True,
                       help="units of the hot product")
    parser.add_argument("--flash-category", default="", env_var="FLASH_CATEGORY", help="an existing category slug")
    parser.add_argument("--flash-admin-token", default="", env_var="FLASH_ADMIN_TOKEN", include_in_web_ui=False,
                       help="an admin's access token, to create the category")
    parser.add_argument("--flash-max-checkouts", type=int, default=0, env_var="FLASH_MAX_CHECKOUTS",
                       help="stop after this many checkout attempts (0: no bound but -t)")
    parser.add_argument("--flash-max-tries", type=int, default=5, help="tries per checkout on a timeout or 503")


class Sale:
    """This process's sale: the product, the shoppers' tokens and every attempt."""

    def __init__(self, host: str, stock: int):
        self.host, self.run_id = host.rstrip("/"), uuid.uuid4().hex[:10]
        self.observed = Observed("", stock, 1, [], [])
        self.seller_token = ""
        self.quitting = False

    def call(self, method: str, path: str, token: str = "", headers: dict | None = None,
             **kwargs) -> requests.Response:
        headers = {**(headers or {}), **({"Authorization": f"Bearer {token}"} if token else {})}
        return requests.request(method, self.host + path, headers=headers, timeout=TIMEOUT_S, **kwargs)

    def ok(self, method: str, path: str, what: str, token: str = "", **kwargs) -> dict:
        response = self.call(method, path, token, **kwargs)
        if response.status_code >= 300:
            raise RuntimeError(f"flash sale: {what} failed: {response.status_code} {response.text[:300]}")
        return response.json() if response.content else {}

    def register(self, role: str, email: str) -> str:
        body = {"email": email, "password": secrets.token_urlsafe(18), "name": f"Flash {role}", "role": role}
        return self.ok("POST", "/api/auth/register", f"registering a {role}", json=body)["access_token"]

    def set_up(self, category: str, admin_token: str) -> None:
        self.seller_token = self.register("seller", f"flash-{self.run_id}-seller@{EMAIL_DOMAIN}")
        if not category and admin_token:
            status = self.call("POST", "/api/categories", admin_token,
                               json={"slug": DEFAULT_CATEGORY, "name": "Flash sale"}).status_code
            category = DEFAULT_CATEGORY if status in (201, 409) else ""
        if not category:
            items = self.ok("GET", "/api/categories?limit=1", "listing categories").get("items", [])
            category = items[0]["slug"] if items else ""
        if not category:
            raise RuntimeError("flash sale set-up: products need a category and none exists: "
                               "pass --flash-category SLUG or --flash-admin-token TOKEN")
        product = self.ok("POST", "/api/products", "creating the product", self.seller_token, json={
            "sku": f"FLASH-{self.run_id}", "name": f"Flash sale item {self.run_id}", "category": category,
            "price": {"amount": 1999, "currency": "USD"}, "stock": self.observed.stock})
        self.observed.product_id = product["id"]

    def add_shopper(self) -> int:
        n = len(self.observed.shopper_tokens)
        self.observed.shopper_tokens.append(None)  # claim the index before yielding to other greenlets
        self.observed.shopper_tokens[n] = self.register("shopper", f"flash-{self.run_id}-{n}@{EMAIL_DOMAIN}")
        return n

    def new_attempt(self, shopper: int) -> Attempt:
        attempt = Attempt(len(self.observed.attempts), f"locust-{self.run_id}-{uuid.uuid4().hex}", shopper)
        self.observed.attempts.append(attempt)  # before sending: a user stopped mid-request is still audited
        return attempt

    def resend(self, attempt: Attempt) -> None:
        token = self.observed.shopper_tokens[attempt.shopper]
        try:
            response = self.call("POST", "/api/orders", token, headers={"Idempotency-Key": attempt.key},
                                 json=body_for(self.observed.product_id))
            attempt.tries.append(parse_checkout(response.status_code, _json(response)))
        except requests.RequestException as exc:
            attempt.tries.append(parse_checkout(None, {"error": {"code": type(exc).__name__}}))

    def snapshot(self) -> Snapshot:
        listed, cursor = [], ""
        while True:
            page = self.ok("GET", "/api/orders", "listing orders", self.seller_token,
                           params={"limit": 100, **({"cursor": cursor} if cursor else {})})
            listed += [o for o in page["items"] if any(i["product_id"] == self.observed.product_id for i in o["items"])]
            cursor = page.get("next_cursor")
            if not cursor:
                break
        stock = self.ok("GET", f"/api/products/{self.observed.product_id}/stock", "reading stock", self.seller_token)

        def read(attempt: Attempt) -> tuple[str, tuple[int, dict | None]]:
            order_id = attempt.final.order_id
            r = self.call("GET", f"/api/orders/{order_id}", self.observed.shopper_tokens[attempt.shopper])
            return order_id, (r.status_code, _json(r))

        return Snapshot(stock, dict(Pool(16).map(read, self.observed.created())), listed)

    def audit(self):
        for attempt in self.observed.attempts:  # unanswered: the same key gives the first result
            if attempt.outcome == UNRESOLVED and (attempt.final is None or (attempt.final.status or 500) >= 500):
                self.resend(attempt)
        snapshot = self.snapshot()
        for _ in range(4):
            if settled(snapshot):
                break
            gevent.sleep(1)
            snapshot = self.snapshot()
        return evaluate(self.observed, snapshot)


def body_for(product_id: str) -> dict:
    return {"items": [{"product_id": product_id, "quantity": 1}]}


def _json(response: requests.Response) -> dict | None:
    try:
        return response.json()
    except ValueError:
        return None


SALE: Sale | None = None


@events.test_start.add_listener
def _set_up(environment, **kwargs) -> None:
    global SALE
    if isinstance(environment.runner, MasterRunner):
        return
    options = environment.parsed_options
    SALE = Sale(environment.host, options.flash_stock)
    SALE.set_up(options.flash_category, options.flash_admin_token)
    log.info("flash sale %s: product %s with %d units", SALE.run_id, SALE.observed.product_id, SALE.observed.stock)


@events.test_stop.add_listener
def _audit(environment, **kwargs) -> None:
    if SALE is None or isinstance(environment.runner, MasterRunner) or not SALE.observed.product_id:
        return
    report = SALE.audit()
    for check in report.checks:
        log.info("audit [%s] %s: %s", "ok" if check.ok else "FAIL", check.name, check.detail)
    log.info("flash sale audit %s", "PASSED" if report.ok else "FAILED")
    environment.process_exit_code = 0 if report.ok else 1


class Shopper(HttpUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        self.shopper = SALE.add_shopper()
        self.token = SALE.observed.shopper_tokens[self.shopper]

    @task
    def checkout(self) -> None:
        options = self.environment.parsed_options
        if options.flash_max_checkouts and len(SALE.observed.attempts) >= options.flash_max_checkouts:
            if not isinstance(self.environment.runner, LocalRunner):
                raise StopUser()
            if not SALE.quitting:  # ends the test (test_stop, then the audit) once every user stopped
                SALE.quitting = True
                gevent.spawn(self.environment.runner.quit)
            gevent.sleep(0.1)
            return
        attempt = SALE.new_attempt(self.shopper)
        headers = {"Authorization": f"Bearer {self.token}", "Idempotency-Key": attempt.key}
        for n in range(options.flash_max_tries):
            with self.client.post("/api/orders", json=body_for(SALE.observed.product_id), headers=headers,
                                  name="POST /api/orders", timeout=TIMEOUT_S, catch_response=True) as response:
                status = response.status_code or None  # 0: no answer
                attempt.tries.append(parse_checkout(status, _json(response) if status else {"error": {
                    "code": type(response.error).__name__ if response.error else "no_answer"}}))
                if attempt.outcome != UNRESOLVED:
                    response.success()  # a 409 out_of_stock is a served request, not a failure
                    return
                response.failure(attempt.final.label)
            if status is not None and status not in RETRIED_STATUSES:
                return
            gevent.sleep(min(2.0, 0.1 * 2**n))
