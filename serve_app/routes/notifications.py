"""Routes: the signed-in user's notifications (API.md "Identity")."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from serve_app.auth import current_principal
from serve_app.identity.tokens import Principal
from serve_app.notifications.queries import my_notifications
from serve_app.pagination import PageCursor, PageLimit
from serve_app.services import Services, get_services

router = APIRouter(tags=["notifications"])


@router.get("/api/users/me/notifications", summary="Notifications to me, newest first",
            description="Every message an event made for you, with its channel and status: `pending`, "
                        "`sent`, `failed`, or `skipped` (with `skip_reason`, e.g. `opted_out`).")
async def list_my_notifications(
    services: Services = Depends(get_services), principal: Principal = Depends(current_principal),
    limit: PageLimit = 20, cursor: PageCursor = None,
):
    return await my_notifications(services, principal, cursor=cursor or None, limit=limit)
