"""What the payment routes need, built once per app from the replica's services.

`Services` (serve_app/services.py) has no payments slot yet, so the first
request builds this and keeps it on `app.state`; see README "Payments".
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Depends, Request

from config import Settings
from serve_app.payments.gateway import build_gateway
from serve_app.payments.settlement import Settlement
from serve_app.services import Services, get_services


@dataclass
class PaymentsContext:
    settings: Settings
    settlement: Settlement

    @property
    def pool(self):
        return self.settlement.pool

    @property
    def provider(self) -> str:
        return self.settlement.gateway.provider


def build_payments(settings: Settings, pool) -> PaymentsContext:
    return PaymentsContext(settings=settings, settlement=Settlement(pool, build_gateway(settings, pool)))


async def get_payments(request: Request, services: Services = Depends(get_services)) -> PaymentsContext:
    payments = getattr(request.app.state, "payments", None)
    if payments is None:
        payments = request.app.state.payments = build_payments(services.settings, services.pool)
    return payments
