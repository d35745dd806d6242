"""Who is signed in, their own profile, and prelogin. Sign-in itself is allauth's headless
API under /_allauth/ (docs/api/http.md)."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from allauth.core import ratelimit
from allauth.mfa.models import Authenticator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema
from ninja.errors import AuthenticationError, HttpError
from pydantic import ConfigDict, Field

from quietroom.accounts import prelogin, services
from quietroom.accounts.mfa_gate import SECOND_FACTORS
from quietroom.accounts.models import User
from quietroom.core.errors import error_response
from quietroom.directory.models import MemberCertificate, MemberRevocationRecord
from quietroom.keys.models import AccountKeys
from quietroom.keys.services import keys_state
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
    keys: Literal["none", "ready", "locked"]  # see docs/api/keys.md, "Gates"
    mfa_enabled: bool
    certified: bool  # the current AIK has a certificate that is not revoked


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
        keys=keys_state(user),
        mfa_enabled=Authenticator.objects.filter(user=user, type__in=SECOND_FACTORS).exists(),
        certified=is_certified(user),
    )


def is_certified(user: User) -> bool:
    """A plain database check (the browser verifies the certificate itself): the current AIK
    has a certificate and no revocation."""
    aik_id = AccountKeys.objects.filter(user=user).values_list("aik_id", flat=True).first()
    if aik_id is None:
        return False
    certified = MemberCertificate.objects.filter(user=user, aik_id=aik_id).exists()
    revoked = MemberRevocationRecord.objects.filter(user=user, aik_id=aik_id).exists()
    return certified and not revoked


@router.get("/session", response=SessionOut)
def session(request: HttpRequest) -> SessionOut:
    return _session_out(signed_in_user(request))


@router.patch("/profile", response=SessionOut)
def update_profile(request: HttpRequest, payload: ProfileIn) -> SessionOut:
    user = services.set_display_name(signed_in_user(request), payload.display_name)
    return _session_out(user)


class PreloginIn(Schema):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=3, max_length=254)


class KdfOut(Schema):
    alg: Literal["argon2id"] = "argon2id"
    m: int
    t: int
    p: int


class PreloginOut(Schema):
    salt: str
    kdf: KdfOut


@router.post("/keys/prelogin", auth=None, response=PreloginOut)
def keys_prelogin(request: HttpRequest, payload: PreloginIn) -> PreloginOut | HttpResponse:
    """Salt and Argon2id parameters for an email, the same shape whether or not it has an
    account (AU-03)."""
    if not ratelimit.consume(request, action="prelogin"):  # ACCOUNT_RATE_LIMITS, per address
        return error_response(429)
    try:
        validate_email(prelogin.normalize_email(payload.email))
    except ValidationError:
        raise HttpError(400, "Enter a valid email address.") from None
    answer = prelogin.prelogin(payload.email)
    return PreloginOut(salt=answer.salt, kdf=KdfOut(m=answer.m, t=answer.t, p=answer.p))
