"""The user aggregate's events. Their data never holds a password, hash or token.

USER_REGISTERED carries email and name because the notification worker needs
them (welcome mail); erasure scrubs both from the outbox (`storage.users.scrub_events`).
"""

from __future__ import annotations

from events.envelope import NewEvent
from serve_app.context import request_id_var
from storage.users import User


def _event(type_: str, user_id, data: dict) -> NewEvent:
    return NewEvent(
        type=type_, aggregate_id=str(user_id), data={"user_id": str(user_id), **data},
        correlation_id=request_id_var.get(),
    )


def user_registered(user: User) -> NewEvent:
    return _event("USER_REGISTERED", user.id, {"email": user.email, "name": user.name, "role": user.role})


def user_updated(user_id, changed: list[str]) -> NewEvent:
    """`changed` names fields (e.g. "email", "password"), never their values."""
    return _event("USER_UPDATED", user_id, {"changed": sorted(changed)})


def user_deleted(user_id) -> NewEvent:
    return _event("USER_DELETED", user_id, {})
