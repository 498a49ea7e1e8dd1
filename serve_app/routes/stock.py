"""Routes: stock and flash sales of a product (API.md "Catalog and stock").

Reads come from the committed rows in PostgreSQL; a restock or a sale change
goes through the product's virtual actor, the single writer of its stock.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Header
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt

from actors.inventory.entity import sale_from_row
from actors.inventory.state import MAX_QUANTITY, EndSale, Restock, Sale, SetSale
from domain.errors import InvalidInput, NotFound
from domain.ids import uuid_or_none
from domain.money import Money
from serve_app.auth import optional_principal, require_roles
from serve_app.identity.tokens import Principal
from serve_app.services import Services, get_services
from storage.inventory import product_owner, sale_of, stock_figures

router = APIRouter(tags=["stock"])


class RestockRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    restock: StrictInt = Field(ge=1, le=MAX_QUANTITY, description="Units received")


class StockPublic(BaseModel):
    available: int
    reserved: int | None = None
    sold: int | None = None
    received: int | None = None


class SaleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    starts_at: AwareDatetime
    ends_at: AwareDatetime
    price: Money
    per_shopper_limit: StrictInt | None = Field(default=None, ge=1, le=MAX_QUANTITY)


class SalePublic(BaseModel):
    starts_at: datetime
    ends_at: datetime
    price: Money
    per_shopper_limit: int | None
    active: bool

    @classmethod
    def of(cls, sale: Sale) -> SalePublic:
        return cls(starts_at=sale.starts_at, ends_at=sale.ends_at,
                   price=Money(amount=sale.price, currency=sale.currency),
                   per_shopper_limit=sale.per_shopper_limit, active=sale.active_at(datetime.now(UTC)))


def _product_uuid(product_id: str) -> str:
    if (parsed := uuid_or_none(product_id)) is None:
        raise NotFound("No such product.", code="product_not_found")
    return parsed


def _may_manage(principal: Principal | None, product: dict) -> bool:
    return principal is not None and (principal.role == "admin" or principal.user_id == product["seller_id"])


async def _managed_product(services: Services, principal: Principal, product_id: str) -> dict:
    """The product if the caller owns it or is an admin; another seller's is a 404."""
    async with services.pool.connection() as conn:
        product = await product_owner(conn, product_id)
    if product is None or not _may_manage(principal, product):
        raise NotFound("No such product.", code="product_not_found")
    return product


@router.get("/api/products/{product_id}/stock", response_model=StockPublic, response_model_exclude_none=True)
async def get_stock(
    product_id: str, services: Services = Depends(get_services),
    principal: Principal | None = Depends(optional_principal),
) -> StockPublic:
    product_id = _product_uuid(product_id)
    async with services.pool.connection() as conn:
        product = await product_owner(conn, product_id)
        figures = await stock_figures(conn, product_id) if product else None
    if figures is None:
        raise NotFound("No such product.", code="product_not_found")
    if _may_manage(principal, product):
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
    await _managed_product(services, principal, product_id)
    restock_id = f"key:{principal.user_id}:{idempotency_key}" if idempotency_key else f"req:{uuid.uuid4().hex}"
    figures = await services.actors.ask("product", product_id, Restock(body.restock, restock_id))
    return StockPublic(**{k: figures[k] for k in ("available", "reserved", "sold", "received")})


@router.get("/api/products/{product_id}/sale", response_model=SalePublic)
async def get_sale(product_id: str, services: Services = Depends(get_services)) -> SalePublic:
    product_id = _product_uuid(product_id)
    async with services.pool.connection() as conn:
        sale = sale_from_row(await sale_of(conn, product_id))
    if sale is None:
        raise NotFound("This product has no sale.", code="sale_not_found")
    return SalePublic.of(sale)


@router.put("/api/products/{product_id}/sale", response_model=SalePublic,
            summary="Create or replace a flash sale (owner seller or admin)")
async def put_sale(
    product_id: str, body: SaleRequest, services: Services = Depends(get_services),
    principal: Principal = Depends(require_roles("seller", "admin")),
) -> SalePublic:
    """Outside the window, checkouts of the product get 409 `sale_not_active`; inside it
    they pay the sale price, and each shopper may buy at most `per_shopper_limit`."""
    product_id = _product_uuid(product_id)
    product = await _managed_product(services, principal, product_id)
    if body.price.currency != product["price_currency"].strip():
        raise InvalidInput("The sale price must be in the product's currency.", code="currency_mismatch")
    sale = Sale(body.starts_at.astimezone(UTC), body.ends_at.astimezone(UTC), body.price.amount,
                body.price.currency, body.per_shopper_limit)
    await services.actors.ask("product", product_id, SetSale(sale))
    return SalePublic.of(sale)


@router.delete("/api/products/{product_id}/sale", response_model=SalePublic, summary="End a sale now")
async def end_sale(
    product_id: str, services: Services = Depends(get_services),
    principal: Principal = Depends(require_roles("seller", "admin")),
) -> SalePublic:
    product_id = _product_uuid(product_id)
    await _managed_product(services, principal, product_id)
    await services.actors.ask("product", product_id, EndSale(datetime.now(UTC)))
    async with services.pool.connection() as conn:
        return SalePublic.of(sale_from_row(await sale_of(conn, product_id)))
