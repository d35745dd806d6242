"""Who is signed in, and their own profile. Sign-in itself (allauth headless, with keys
unlocked in the browser) arrives with the accounts capability."""

from __future__ import annotations

from uuid import UUID

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.errors import AuthenticationError
from pydantic import ConfigDict, Field

from quietroom.accounts import services
from quietroom.accounts.models import User
from quietroom.practices.access import active_memberships

router = Router(tags=["accounts"])


class MembershipOut(Schema):
    practice_id: UUID
    practice_name: str
    role: str


class SessionOut(Schema):
    user_id: UUID
    display_name: str
    memberships: list[MembershipOut]


class ProfileIn(Schema):
    # Unknown fields are refused, so a client can never set what it does not own (AC-04).
    model_config = ConfigDict(extra="forbid")
    display_name: str = Field(min_length=1, max_length=120)


def signed_in_user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):  # django_auth has refused anonymous callers already
        raise AuthenticationError
    return user


def _session_out(user: User) -> SessionOut:
    return SessionOut(
        user_id=user.id,
        display_name=user.display_name,
        memberships=[
            MembershipOut(practice_id=m.practice.id, practice_name=m.practice.name, role=m.role)
            for m in active_memberships(user)
        ],
    )


@router.get("/session", response=SessionOut)
def session(request: HttpRequest) -> SessionOut:
    return _session_out(signed_in_user(request))


@router.patch("/profile", response=SessionOut)
def update_profile(request: HttpRequest, payload: ProfileIn) -> SessionOut:
    user = services.set_display_name(signed_in_user(request), payload.display_name)
    return _session_out(user)
