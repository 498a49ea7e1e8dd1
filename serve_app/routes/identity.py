"""Routes: identity (see API.md)."""

from fastapi import APIRouter

router = APIRouter(tags=["identity"])
