"""Routes: cart (see API.md "Cart and orders")."""

from fastapi import APIRouter

router = APIRouter(tags=["cart"])
