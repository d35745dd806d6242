"""Placeholder router; filled in by the messaging work (docs/api/messaging.md)."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["messaging"])
