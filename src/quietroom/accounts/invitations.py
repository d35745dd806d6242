"""Invitations: the only way into a practice, because signup is closed to the public.

Only the hook the sign-up adapter asks exists so far; the invitations themselves (issue, email,
accept, expire) are later work of the accounts capability.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.http import HttpRequest


@dataclass(frozen=True)
class PendingInvitation:
    """An invitation this browser session has opened and may now accept by signing up."""

    invitation_id: UUID
    email: str


def pending_invitation(request: HttpRequest) -> PendingInvitation | None:
    """The accepted invitation marked in this session, or None. Always None until invitations
    exist, which keeps signup closed."""
    return None
