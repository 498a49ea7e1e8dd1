"""Catalog bodies, one class per role: `XCreate` / `XUpdate` in, `XPublic` out.

Input classes forbid unknown fields, and every string that reaches
PostgreSQL is checked here: a NUL character or a lone surrogate (both valid
JSON) would otherwise fail inside the database as a 500.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import orjson
from pydantic import (
    AfterValidator, BaseModel, ConfigDict, Field, StrictInt, StringConstraints, field_validator, model_validator,
)

from domain.money import MAX_AMOUNT, Money
from serve_app.catalog.currencies import ISO_4217
from serve_app.pagination import MAX_PAGE_SIZE

MAX_STOCK = 1_000_000
MAX_BULK_ITEMS = 100
MAX_ATTRIBUTES_BYTES = 16_384
MAX_ATTRIBUTES_DEPTH = 8
# Integers inside attributes must fit the JSON encoder of the responses.
MAX_ATTRIBUTE_INT = 2**63 - 1

ProductSort = Literal["newest", "price_asc", "price_desc", "name"]
ProductStatus = Literal["active", "archived"]


def clean_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def _check_json(value: Any, depth: int) -> None:
    if depth > MAX_ATTRIBUTES_DEPTH:
        raise ValueError(f"may nest at most {MAX_ATTRIBUTES_DEPTH} levels deep")
    if isinstance(value, str):
        clean_text(value)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if abs(value) > MAX_ATTRIBUTE_INT:
            raise ValueError("integers must fit in 64 bits")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("numbers must be finite")
    elif isinstance(value, list):
        for item in value:
            _check_json(item, depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            clean_text(key)
            _check_json(item, depth + 1)
    else:
        raise ValueError("must be JSON")


def check_attributes(value: dict[str, Any]) -> dict[str, Any]:
    _check_json(value, 1)
    if len(orjson.dumps(value)) > MAX_ATTRIBUTES_BYTES:
        raise ValueError(f"must be at most {MAX_ATTRIBUTES_BYTES} bytes as JSON")
    return value


Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
Sku = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[!-~]{1,64}$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(clean_text)]
Description = Annotated[str, StringConstraints(max_length=5000), AfterValidator(clean_text)]
Attributes = Annotated[dict[str, Any], AfterValidator(check_attributes)]
Stock = Annotated[StrictInt, Field(ge=0, le=MAX_STOCK)]


class Price(Money):
    """Money whose currency is a real ISO 4217 code."""

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        if value not in ISO_4217:
            raise ValueError("must be an ISO 4217 currency code")
        return value


class ProductCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Sku
    name: Name
    description: Description = ""
    price: Price
    category: Slug
    attributes: Attributes = Field(default_factory=dict)
    stock: Stock = 0
    # Admins only: create on behalf of this seller (default: the caller).
    seller_id: UUID | None = None


PATCHABLE = ("sku", "name", "description", "price", "category", "attributes")


class ProductUpdate(BaseModel):
    """A partial update: only the fields sent change; `attributes` is replaced whole."""

    model_config = ConfigDict(extra="forbid")

    sku: Sku | None = None
    name: Name | None = None
    description: Description | None = None
    price: Price | None = None
    category: Slug | None = None
    attributes: Attributes | None = None

    @model_validator(mode="after")
    def _no_nulls_and_not_empty(self) -> ProductUpdate:
        if not self.model_fields_set:
            raise ValueError(f"send at least one of {', '.join(PATCHABLE)}")
        nulls = sorted(name for name in self.model_fields_set if getattr(self, name) is None)
        if nulls:
            raise ValueError(f"cannot be null: {', '.join(nulls)}")
        return self

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in PATCHABLE if name in self.model_fields_set}


class ProductPublic(BaseModel):
    id: str
    seller_id: str
    sku: str
    name: str
    description: str
    price: Money
    category: str | None
    attributes: dict[str, Any]
    status: ProductStatus
    version: int = Field(description="Bumped on every change; the ETag is this number, quoted.")
    available: int = Field(description="Stock that can still be reserved: received - reserved - sold.")
    created_at: datetime
    updated_at: datetime


class ProductPage(BaseModel):
    items: list[ProductPublic]
    next_cursor: str | None


class ProductQuery(BaseModel):
    """Filters of `GET /api/products`; archived products are never listed."""

    q: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), AfterValidator(clean_text)] | None = (
        Field(None, description="Full-text search over name and description (web search syntax).")
    )
    category: Slug | None = None
    min_price: int | None = Field(None, ge=0, le=MAX_AMOUNT, description="Minor units, inclusive.")
    max_price: int | None = Field(None, ge=0, le=MAX_AMOUNT, description="Minor units, inclusive.")
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = None
    seller_id: UUID | None = None
    sort: ProductSort = "newest"
    limit: int = Field(20, ge=1, le=MAX_PAGE_SIZE)
    cursor: str | None = None  # bounded by decode_cursor: a long one is a 400 invalid_cursor

    @model_validator(mode="after")
    def _price_range(self) -> ProductQuery:
        if self.min_price is not None and self.max_price is not None and self.min_price > self.max_price:
            raise ValueError("min_price must not exceed max_price")
        if self.q == "":
            self.q = None  # a blank search filters nothing
        return self


class BulkCreate(BaseModel):
    """Items are validated one by one, so one bad item fails alone."""

    model_config = ConfigDict(extra="forbid")

    items: list[Any] = Field(min_length=1, max_length=MAX_BULK_ITEMS)


class ItemError(BaseModel):
    code: str
    message: str
    details: dict[str, Any]


class BulkCreated(BaseModel):
    index: int
    status: Literal[201]
    product: ProductPublic


class BulkFailed(BaseModel):
    index: int
    status: int
    error: ItemError


class BulkResults(BaseModel):
    results: list[BulkCreated | BulkFailed]


class CategoryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: Slug
    name: Name


class CategoryPublic(BaseModel):
    slug: str
    name: str
    created_at: datetime


class CategoryPage(BaseModel):
    items: list[CategoryPublic]
    next_cursor: str | None
