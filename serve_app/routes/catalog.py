"""Routes: catalog (see API.md)."""

from fastapi import APIRouter

router = APIRouter(tags=["catalog"])
