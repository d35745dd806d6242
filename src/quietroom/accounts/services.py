"""Writes to a person's own account."""

from __future__ import annotations

import unicodedata

from django.db import transaction
from ninja.errors import HttpError

from quietroom.accounts.models import User


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
