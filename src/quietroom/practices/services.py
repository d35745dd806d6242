"""Writes for practices: issuing the set-up link (using it is `quietroom.directory.setup`)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from quietroom.practices.models import Practice, SetupLink

SETUP_LINK_LIFETIME = timedelta(days=7)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def practice_exists() -> bool:
    return Practice.objects.exists()


@transaction.atomic
def issue_setup_link() -> str | None:
    """A fresh one-time set-up token while no practice exists, else None.

    Any earlier unused link is revoked: only the link printed last works, so an old terminal
    scroll-back or log cannot be used to claim the practice.
    """
    if practice_exists():
        return None
    now = timezone.now()
    SetupLink.objects.filter(used_at__isnull=True, revoked_at__isnull=True).update(revoked_at=now)
    token = secrets.token_urlsafe(32)
    SetupLink.objects.create(token_hash=hash_token(token), expires_at=now + SETUP_LINK_LIFETIME)
    return token
