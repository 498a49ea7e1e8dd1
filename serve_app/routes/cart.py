"""Routes: the shopper's cart (see API.md "Cart and orders"). Thin: parse, call the service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from serve_app.auth import require_roles
from serve_app.cart.schemas import CartItemAdd, CartItemUpdate, CartView
from serve_app.cart.service import CartService
from serve_app.identity.tokens import Principal
from serve_app.services import Services, get_services

router = APIRouter(prefix="/api/cart", tags=["cart"])

Shopper = Annotated[Principal, Depends(require_roles("shopper"))]


async def get_cart(services: Annotated[Services, Depends(get_services)]) -> CartService:
    return CartService(services.pool, max_quantity=services.settings.cart_max_quantity)


Cart = Annotated[CartService, Depends(get_cart)]


@router.get("", response_model=CartView, summary="My cart, at current prices and stock")
async def get_cart_view(shopper: Shopper, cart: Cart) -> CartView:
    return await cart.view(shopper.user_id)


@router.delete("", status_code=204, summary="Empty my cart")
async def clear_cart(shopper: Shopper, cart: Cart) -> Response:
    await cart.clear(shopper.user_id)
    return Response(status_code=204)


@router.post("/items", status_code=201, response_model=CartView, summary="Add units of a product")
async def add_item(body: CartItemAdd, shopper: Shopper, cart: Cart) -> CartView:
    """A product already in the cart gets the units added to its line."""
    return await cart.add(shopper.user_id, body.product_id, body.quantity)


@router.patch("/items/{product_id}", response_model=CartView, summary="Set a line's quantity")
async def set_item_quantity(product_id: str, body: CartItemUpdate, shopper: Shopper, cart: Cart) -> CartView:
    return await cart.set_quantity(shopper.user_id, product_id, body.quantity)


@router.delete("/items/{product_id}", status_code=204, summary="Remove a line")
async def remove_item(product_id: str, shopper: Shopper, cart: Cart) -> Response:
    await cart.remove(shopper.user_id, product_id)
    return Response(status_code=204)
