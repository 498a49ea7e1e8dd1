"""Set-up of a flash sale through the API (not measured): a seller, a hot product, shoppers.

Products need a category and only admins create categories, so the category
is, in order: `--category`; one created with `--admin-token`; the first that
exists. With none of these the set-up stops and says what to pass.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from serve_app.loadtest.client import Api, ApiError

DEFAULT_CATEGORY = "flash-sale"
EMAIL_DOMAIN = "loadtest.example"


class SetupError(Exception):
    """The sale could not be set up; the message says why and what to do."""


@dataclass(frozen=True)
class Sale:
    run_id: str
    product_id: str
    category: str
    seller_token: str
    shopper_tokens: list[str]


async def register(api: Api, role: str, email: str) -> str:
    """A new account's access token."""
    body = {"email": email, "password": secrets.token_urlsafe(18), "name": f"Flash {role}", "role": role}
    return (await api.ok("POST", "/api/auth/register", json=body, what=f"registering a {role}"))["access_token"]


async def resolve_category(api: Api, category: str | None, admin_token: str | None) -> str:
    if category:
        return category
    if admin_token:
        status, body, _ = await api.call("POST", "/api/categories", token=admin_token,
                                         json={"slug": DEFAULT_CATEGORY, "name": "Flash sale"})
        if status in (201, 409):  # 409: it exists already, which is as good
            return DEFAULT_CATEGORY
        raise SetupError(f"creating category {DEFAULT_CATEGORY!r} with --admin-token failed: {status} {body}")
    page = await api.ok("GET", "/api/categories?limit=1", what="listing categories")
    if page.get("items"):
        return page["items"][0]["slug"]
    raise SetupError(
        "POST /api/products needs a category and the system has none: pass --category SLUG (an existing "
        "category) or --admin-token TOKEN (an admin's access token, to create one; `commerce admin create` "
        "makes an admin)"
    )


async def create_product(api: Api, seller_token: str, run_id: str, category: str, stock: int) -> str:
    body = {"sku": f"FLASH-{run_id}", "name": f"Flash sale item {run_id}", "price": {"amount": 1999, "currency": "USD"},
            "category": category, "stock": stock}
    try:
        product = await api.ok("POST", "/api/products", token=seller_token, json=body, what="creating the product")
    except ApiError as exc:
        if exc.code == "unknown_category":
            raise SetupError(f"category {category!r} does not exist: pass an existing --category or --admin-token") \
                from None
        raise
    return product["id"]


async def register_shoppers(api: Api, run_id: str, n: int, *, concurrency: int = 8,
                            on_done: Callable[[], None] = lambda: None) -> list[str]:
    """n shopper tokens, registered concurrently (the server hashes passwords one per CPU at a time)."""
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> str:
        async with gate:
            token = await register(api, "shopper", f"flash-{run_id}-{i}@{EMAIL_DOMAIN}")
            on_done()
            return token

    return list(await asyncio.gather(*(one(i) for i in range(n))))


async def set_up(
    api: Api, *, run_id: str, stock: int, shoppers: int, category: str | None = None,
    admin_token: str | None = None, on_shopper: Callable[[], None] = lambda: None,
) -> Sale:
    try:
        seller = await register(api, "seller", f"flash-{run_id}-seller@{EMAIL_DOMAIN}")
        slug = await resolve_category(api, category, admin_token)
        product_id = await create_product(api, seller, run_id, slug, stock)
        tokens = await register_shoppers(api, run_id, shoppers, on_done=on_shopper)
    except ApiError as exc:
        raise SetupError(f"set-up failed while {exc}") from None
    return Sale(run_id, product_id, slug, seller, tokens)
