"""Routes: stock of a product (API.md "Catalog and stock").

Reads come from the committed counters in PostgreSQL; a restock goes through
the product's virtual actor, the single writer of its stock.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Header
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from actors.inventory.state import MAX_QUANTITY, Restock
from domain.errors import NotFound
from serve_app.auth import optional_principal, require_roles
from serve_app.identity.tokens import Principal
from serve_app.services import Services, get_services
from storage.inventory import product_owner, stock_figures

router = APIRouter(tags=["stock"])


class RestockRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    restock: StrictInt = Field(ge=1, le=MAX_QUANTITY, description="Units received")


class StockPublic(BaseModel):
    available: int
    reserved: int | None = None
    sold: int | None = None
    received: int | None = None


def _product_uuid(product_id: str) -> str:
    try:
        return str(uuid.UUID(product_id))
    except ValueError:
        raise NotFound("No such product.", code="product_not_found") from None


def _may_manage(principal: Principal | None, owner: str) -> bool:
    return principal is not None and (principal.role == "admin" or principal.user_id == owner)


@router.get("/api/products/{product_id}/stock", response_model=StockPublic, response_model_exclude_none=True)
async def get_stock(
    product_id: str, services: Services = Depends(get_services),
    principal: Principal | None = Depends(optional_principal),
) -> StockPublic:
    product_id = _product_uuid(product_id)
    async with services.pool.connection() as conn:
        owner = await product_owner(conn, product_id)
        figures = await stock_figures(conn, product_id) if owner else None
    if figures is None:
        raise NotFound("No such product.", code="product_not_found")
    if _may_manage(principal, owner):
        return StockPublic(**figures)
    return StockPublic(available=figures["available"])


@router.post("/api/products/{product_id}/stock", response_model=StockPublic)
async def restock(
    product_id: str, body: RestockRequest, services: Services = Depends(get_services),
    principal: Principal = Depends(require_roles("seller", "admin")),
    idempotency_key: str | None = Header(default=None, max_length=200),
) -> StockPublic:
    """Add received units. With an `Idempotency-Key`, a repeat adds nothing."""
    product_id = _product_uuid(product_id)
    async with services.pool.connection() as conn:
        owner = await product_owner(conn, product_id)
    if owner is None or not _may_manage(principal, owner):
        raise NotFound("No such product.", code="product_not_found")  # another seller's: 404
    restock_id = f"key:{principal.user_id}:{idempotency_key}" if idempotency_key else f"req:{uuid.uuid4().hex}"
    figures = await services.actors.ask("product", product_id, Restock(body.restock, restock_id))
    return StockPublic(**{k: figures[k] for k in ("available", "reserved", "sold", "received")})
