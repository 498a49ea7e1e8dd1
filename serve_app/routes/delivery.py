"""Routes: order tracking (API.md "Cart and orders") and the courier partner's webhook."""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from actors.delivery import service
from actors.delivery.webhook import MAX_BODY_BYTES, SIGNATURE_HEADER, CourierReport, verify
from domain.errors import NotFound
from serve_app.auth import current_principal
from serve_app.identity.tokens import Principal
from serve_app.orders import queries
from serve_app.services import Services, get_services
from storage import shipments

router = APIRouter(tags=["delivery"])


@router.get("/api/orders/{order_id}/tracking", summary="The order's shipment and its events (owner or admin)",
            description="`shipment` is null until the order is paid and a shipment is opened.")
async def tracking(order_id: str, services: Services = Depends(get_services),
                   principal: Principal = Depends(current_principal)):
    order = await queries.get_order(services, principal, order_id)  # 404 unless owner or admin
    async with services.pool.connection() as conn:
        shipment = await shipments.tracking(conn, order_id)
    return {"order_id": order["id"], "order_status": order["status"],
            "shipment": service.view(shipment) if shipment else None}


@router.post("/api/delivery/webhooks/courier", summary="A courier partner reports a step (signed)",
             description=f"Body `{{shipment_id | tracking_number, status: picked_up | delivered, event_id, "
                         f"partner?}}`, signed in `{SIGNATURE_HEADER}` (README). A replayed `event_id` "
                         "answers 200 with `result: duplicate` and changes nothing.")
async def courier_webhook(request: Request, services: Services = Depends(get_services)):
    secret = services.settings.courier_webhook_secret
    if secret is None:
        raise NotFound("The courier webhook is not configured.", code="webhook_disabled")
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise HTTPException(413, f"A report is at most {MAX_BODY_BYTES} bytes.")
    verify(body, request.headers.get(SIGNATURE_HEADER), secret.get_secret_value(), now=time.time())
    try:
        report = CourierReport.model_validate_json(body)
    except ValidationError as exc:  # through the one error mapping (never echoes the input)
        raise RequestValidationError(exc.errors()) from None
    return await service.report_from_partner(services.pool, report)
