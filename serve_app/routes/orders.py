"""Routes: orders (API.md "Cart and orders"). The OrderActor owns the state."""

from __future__ import annotations

from fastapi import APIRouter, Body, Depends

from actors.orders.model import Cancel
from serve_app.auth import current_principal, require_roles
from serve_app.idempotency import IdempotencyKey
from serve_app.identity.tokens import Principal
from serve_app.orders import queries
from serve_app.orders.checkout import CHECKOUT_PATH, CHECKOUT_ROLES, place_order
from serve_app.orders.schemas import CancelRequest, CheckoutRequest
from serve_app.pagination import PageCursor, PageLimit
from serve_app.responses import OrjsonResponse
from serve_app.services import Services, get_services

router = APIRouter(tags=["orders"])


@router.post(CHECKOUT_PATH, status_code=201, summary="Check out the cart or explicit items")
async def create_order(
    body: CheckoutRequest, services: Services = Depends(get_services),
    principal: Principal = Depends(require_roles(*CHECKOUT_ROLES)),
    idempotency_key: str | None = IdempotencyKey,
):
    """201 with the order in AWAITING_PAYMENT; 409 `out_of_stock` listing the short items
    (nothing stays reserved). The same `Idempotency-Key` and body return the first result."""
    status, view = await place_order(services, principal, body, idempotency_key)
    return OrjsonResponse(view, status_code=status)


@router.get("/api/orders", summary="Shoppers: own orders; sellers: orders with their products; admins: all")
async def list_orders(
    services: Services = Depends(get_services), principal: Principal = Depends(current_principal),
    limit: PageLimit = 20, cursor: PageCursor = None,
):
    return await queries.list_orders(services, principal, cursor=cursor or None, limit=limit)


@router.get("/api/orders/{order_id}", summary="One order (owner or admin)")
async def get_order(order_id: str, services: Services = Depends(get_services),
                    principal: Principal = Depends(current_principal)):
    return await queries.get_order(services, principal, order_id)


@router.post("/api/orders/{order_id}/cancel", summary="Cancel (owner or admin); releases or returns the stock")
async def cancel_order(
    order_id: str, body: CancelRequest | None = Body(default=None),
    services: Services = Depends(get_services), principal: Principal = Depends(current_principal),
):
    await queries.get_order(services, principal, order_id)  # 404 unless owner or admin
    by = "an admin" if principal.role == "admin" else "the shopper"
    reason = (body.reason if body and body.reason else None) or f"cancelled by {by}"
    return await services.actors.ask("order", order_id, Cancel(reason))
