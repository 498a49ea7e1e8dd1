"""Bootstrapping an admin: the only way to the `admin` role (registration refuses it).

Used by `commerce admin create`; runs against any DSN, outside Serve.
"""

from __future__ import annotations

import psycopg

from serve_app.identity.passwords import Passwords
from serve_app.identity.schemas import RegisterRequest
from serve_app.identity.service import create_account
from storage.users import User

DEFAULT_ADMIN_NAME = "Administrator"


def admin_request(email: str, password: str, name: str | None) -> RegisterRequest:
    """The same validation as registration (email form, password length); raises pydantic's ValidationError."""
    return RegisterRequest(email=email, password=password, name=name or DEFAULT_ADMIN_NAME, role="admin")


async def create_admin(dsn: str, request: RegisterRequest, passwords: Passwords | None = None) -> User:
    """Create the account with its USER_REGISTERED event; `Conflict(email_taken)` if the email is in use."""
    password_hash = await (passwords or Passwords()).hash(request.password)
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        user = await create_account(conn, request.email, request.name, "admin", password_hash)
        await conn.commit()
    return user
