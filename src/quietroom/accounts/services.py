"""Writes to a person's own account."""

from __future__ import annotations

import unicodedata

from allauth.usersessions.models import UserSession
from django.db import transaction
from ninja.errors import HttpError

from quietroom.accounts.models import User
from quietroom.audit.services import Origin, record_event
from quietroom.realtime.sessions import end_user_sockets


def clean_display_name(value: str) -> str:
    name = unicodedata.normalize("NFC", value).strip()
    # Control characters (newlines included) have no place in a name shown to others.
    if not name or any(unicodedata.category(ch).startswith("C") for ch in name):
        raise HttpError(400, "A name needs visible characters and no control characters.")
    return name


@transaction.atomic
def set_display_name(user: User, value: str) -> User:
    user.display_name = clean_display_name(value)
    user.save(update_fields=["display_name"])
    return user


@transaction.atomic
def disable_user(user: User, *, by: User | None, origin: Origin | None = None) -> None:
    """Disable an account and end its access at once (AC-07): every session, every open
    WebSocket. The row stays, so the audit trail keeps naming who did what."""
    user.is_active = False
    user.save(update_fields=["is_active"])
    for session in UserSession.objects.filter(user=user):
        session.end()
    record_event(
        action="account.disabled",
        actor=by,
        object_type="user",
        object_id=str(user.id),
        origin=origin,
    )
    transaction.on_commit(lambda: end_user_sockets(user.id))
