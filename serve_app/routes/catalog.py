"""Routes: catalog (see API.md "Catalog and stock"). Thin: parse, call the service, shape the response.

The `/api/products/{id}/stock` endpoints belong to the stock actor, not here.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response
from pydantic import ValidationError

from domain.errors import DomainError, InvalidInput
from serve_app.auth import require_roles
from serve_app.pagination import PageCursor, PageLimit
from serve_app.catalog.etag import etag_for, parse_if_match
from serve_app.catalog.schemas import (
    BulkCreate, BulkCreated, BulkFailed, BulkResults, CategoryCreate, CategoryPage, CategoryPublic, ItemError,
    ProductCreate, ProductPage, ProductPublic, ProductQuery, ProductUpdate,
)
from serve_app.catalog.service import CatalogService
from serve_app.context import request_id_var
from serve_app.errors import _safe_validation_errors, status_for
from serve_app.identity.tokens import Principal
from serve_app.services import Services, get_services

router = APIRouter(prefix="/api", tags=["catalog"])

Seller = Annotated[Principal, Depends(require_roles("seller", "admin"))]
Admin = Annotated[Principal, Depends(require_roles("admin"))]
IfMatchHeader = Annotated[
    str | None, Header(alias="If-Match", description='The ETag you read, e.g. `"3"`; a stale one is a 412.')
]


async def get_catalog(services: Annotated[Services, Depends(get_services)]) -> CatalogService:
    return CatalogService(services.pool)


Catalog = Annotated[CatalogService, Depends(get_catalog)]


def _with_etag(response: Response, product: ProductPublic) -> ProductPublic:
    response.headers["ETag"] = etag_for(product.version)
    return product


@router.get("/categories", response_model=CategoryPage, summary="List categories by slug")
async def list_categories(
    catalog: Catalog,
    limit: PageLimit = 20,
    cursor: PageCursor = None,
) -> CategoryPage:
    return await catalog.list_categories(limit=limit, cursor=cursor)


@router.post("/categories", status_code=201, response_model=CategoryPublic, summary="Create a category (admin)")
async def create_category(body: CategoryCreate, _: Admin, catalog: Catalog) -> CategoryPublic:
    return await catalog.create_category(body)


@router.get("/products", response_model=ProductPage, summary="List active products")
async def list_products(query: Annotated[ProductQuery, Query()], catalog: Catalog) -> ProductPage:
    return await catalog.list_products(query)


@router.post("/products", status_code=201, response_model=ProductPublic, summary="Create a product")
async def create_product(body: ProductCreate, principal: Seller, catalog: Catalog, response: Response) -> ProductPublic:
    product = await catalog.create_product(principal, body, request_id_var.get())
    response.headers["Location"] = f"/api/products/{product.id}"
    return _with_etag(response, product)


@router.post("/products/bulk", status_code=207, response_model=BulkResults, summary="Create up to 100 products")
async def create_products(body: BulkCreate, principal: Seller, catalog: Catalog) -> BulkResults:
    items: list[ProductCreate | DomainError] = []
    for raw in body.items:
        try:
            items.append(ProductCreate.model_validate(raw))
        except ValidationError as exc:
            items.append(InvalidInput(
                "The item did not pass validation.", code="validation_error",
                details={"errors": _safe_validation_errors(exc)},
            ))
    outcomes = await catalog.create_products(principal, items, request_id_var.get())
    return BulkResults(results=[
        BulkFailed(index=index, status=status_for(outcome),
                   error=ItemError(code=outcome.code, message=outcome.message, details=outcome.details))
        if isinstance(outcome, DomainError) else BulkCreated(index=index, status=201, product=outcome)
        for index, outcome in enumerate(outcomes)
    ])


@router.get("/products/{product_id}", response_model=ProductPublic, summary="A product, archived ones too")
async def get_product(product_id: str, catalog: Catalog, response: Response) -> ProductPublic:
    return _with_etag(response, await catalog.get_product(product_id))


@router.patch("/products/{product_id}", response_model=ProductPublic, summary="Change a product")
async def update_product(
    product_id: str, body: ProductUpdate, principal: Seller, catalog: Catalog, response: Response,
    if_match: IfMatchHeader = None,
) -> ProductPublic:
    product = await catalog.update_product(
        principal, product_id, body, parse_if_match(if_match), request_id_var.get()
    )
    return _with_etag(response, product)


@router.delete("/products/{product_id}", status_code=204, summary="Archive a product")
async def archive_product(
    product_id: str, principal: Seller, catalog: Catalog, if_match: IfMatchHeader = None
) -> Response:
    await catalog.archive_product(principal, product_id, parse_if_match(if_match), request_id_var.get())
    return Response(status_code=204)
