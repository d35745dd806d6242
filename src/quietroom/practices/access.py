"""The one place that answers "in which practice, in which role, may this person act?".

Later resources (conversations, forms, notes) build their own access module on these answers.
Absence and refusal look the same to callers: both give None, which the API turns into 404.
"""

from __future__ import annotations

from quietroom.accounts.models import User
from quietroom.practices.models import Membership


def active_memberships(user: User) -> list[Membership]:
    if not user.is_active:
        return []
    return list(
        Membership.objects.select_related("practice")
        .filter(user=user, removed_at__isnull=True)
        .order_by("created_at")
    )
