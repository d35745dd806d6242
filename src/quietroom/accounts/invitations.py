"""The sign-up adapter's view of invitations (quietroom.practices.invitations holds the rest).

Signup is closed unless this browser session has opened a usable invitation, and then only for
the address the invitation was sent to.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.http import HttpRequest

from quietroom.practices import invitations


@dataclass(frozen=True)
class PendingInvitation:
    """An invitation this browser session has opened and may now accept by signing up."""

    invitation_id: UUID
    email: str


def pending_invitation(request: HttpRequest | None) -> PendingInvitation | None:
    if request is None or not hasattr(request, "session"):
        return None
    held = invitations.held_invitation(request)
    return PendingInvitation(held.id, held.email) if held is not None else None
