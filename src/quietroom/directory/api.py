"""Practice set-up and the key directory (docs/api/keys.md "Practice set-up", "Directory")."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from allauth.core import ratelimit
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from ninja.responses import Status
from pydantic import ConfigDict, Field

from quietroom.accounts.api import signed_in_user
from quietroom.audit.services import Origin
from quietroom.core.errors import error_response
from quietroom.directory import access, services, setup
from quietroom.keys.schemas import AccountKeysIn

router = Router(tags=["directory"])

NOT_FOUND = "Nothing was found here."
SETUP_GONE = "This set-up link cannot be used. Print a new one with `quietroom setup-link`."
B64 = Field(min_length=1, max_length=4096, pattern=r"^[A-Za-z0-9_-]+$")


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")


def refused(exc: services.DirectoryRefused) -> HttpResponse:
    extra = {"crypto": exc.crypto} if exc.crypto else {}
    return error_response(exc.status, exc.code, exc.message, **extra)


# -- set-up --------------------------------------------------------------------------------------


class TokenIn(Strict):
    token: str = Field(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")


class OkOut(Schema):
    ok: bool


class PracticeIn(Strict):
    id: UUID
    name: str = Field(min_length=1, max_length=200)


class OwnerIn(Strict):
    id: UUID
    email: str = Field(min_length=3, max_length=254)
    display_name: str = Field(min_length=1, max_length=120)
    auth_key: str = Field(min_length=1, max_length=100)


class SetupIn(TokenIn):
    practice: PracticeIn
    owner: OwnerIn
    config: dict[str, Any]
    keys: AccountKeysIn
    cert: dict[str, Any]
    prsk_wrap: str = B64


class CreatedOut(Schema):
    practice_id: UUID
    user_id: UUID


@router.post("/setup/check", auth=None, response=OkOut)
def setup_check(request: HttpRequest, payload: TokenIn) -> OkOut | HttpResponse:
    if not ratelimit.consume(request, action="setup"):  # ACCOUNT_RATE_LIMITS, per address
        return error_response(429)
    if not setup.link_usable(payload.token):
        raise HttpError(404, SETUP_GONE)
    return OkOut(ok=True)


@router.post("/setup/practice", auth=None, response={201: CreatedOut})
def setup_practice(request: HttpRequest, payload: SetupIn) -> Status[CreatedOut] | HttpResponse:
    """Create the practice and its owner, and use up the link; the browser then signs in
    through allauth with the same email and authKey."""
    if not ratelimit.consume(request, action="setup"):
        return error_response(429)
    req = setup.SetupRequest(
        token=payload.token,
        practice_id=payload.practice.id,
        practice_name=payload.practice.name,
        owner_id=payload.owner.id,
        email=payload.owner.email,
        display_name=payload.owner.display_name,
        auth_key=payload.owner.auth_key,
        config=payload.config,
        keys=payload.keys,
        cert=payload.cert,
        prsk_wrap=payload.prsk_wrap,
    )
    try:
        practice, user = setup.create_practice(req, Origin.of(request))
    except setup.SetupGone:
        raise HttpError(404, SETUP_GONE) from None
    except services.DirectoryRefused as exc:
        return refused(exc)
    return Status(201, CreatedOut(practice_id=practice.id, user_id=user.id))


# -- directory -----------------------------------------------------------------------------------


class ConfigsOut(Schema):
    configs: list[dict[str, Any]]


@router.get("/practices/{practice_id}/configs", response=ConfigsOut)
def configs(request: HttpRequest, practice_id: UUID) -> ConfigsOut:
    found = access.configs_for(signed_in_user(request), practice_id)
    if found is None:
        raise HttpError(404, NOT_FOUND)
    return ConfigsOut(configs=found)


class EntryOut(Schema):
    user_id: UUID
    display_name: str
    role: str
    removed: bool
    aik_pub: str | None
    certs: list[dict[str, Any]]
    revocations: list[dict[str, Any]]
    aek_binds: list[dict[str, Any]]
    device_lists: list[dict[str, Any]]


class DirectoryOut(Schema):
    entries: list[EntryOut]
    issuers: list[dict[str, Any]]


class DirectoryQuery(Schema):
    user: list[UUID] = Field(default_factory=list, max_length=500)


@router.get("/practices/{practice_id}/directory", response=DirectoryOut)
def directory(
    request: HttpRequest, practice_id: UUID, query: Query[DirectoryQuery]
) -> DirectoryOut:
    view = access.read_directory(
        signed_in_user(request), practice_id, query.user, Origin.of(request)
    )
    if view is None:
        raise HttpError(404, NOT_FOUND)
    return DirectoryOut(entries=[EntryOut(**entry) for entry in view.entries], issuers=view.issuers)


class PendingOut(Schema):
    user_id: UUID
    display_name: str
    role: str
    aik_pub: str
    reason: str
    previous_aik_id: str | None
    since: datetime


class PendingListOut(Schema):
    pending: list[PendingOut]


@router.get("/practices/{practice_id}/pending-certificates", response=PendingListOut)
def pending_certificates(request: HttpRequest, practice_id: UUID) -> PendingListOut:
    found = access.pending_for(signed_in_user(request), practice_id)
    if found is None:
        raise HttpError(404, NOT_FOUND)
    return PendingListOut(
        pending=[PendingOut.model_validate(p, from_attributes=True) for p in found]
    )


class CertificateIn(Strict):
    cert: dict[str, Any]
    revocation: dict[str, Any] | None = None
    prsk_wrap: str | None = Field(
        default=None, min_length=1, max_length=4096, pattern=r"^[A-Za-z0-9_-]+$"
    )


class IssuedOut(Schema):
    user_id: UUID
    aik_id: str


@router.post("/practices/{practice_id}/certificates", response={201: IssuedOut})
def issue_certificate(
    request: HttpRequest, practice_id: UUID, payload: CertificateIn
) -> Status[IssuedOut] | HttpResponse:
    actor = access.acting_membership(signed_in_user(request), practice_id)
    if actor is None:
        raise HttpError(404, NOT_FOUND)
    try:
        row = services.issue_certificate(
            actor, payload.cert, payload.revocation, payload.prsk_wrap, Origin.of(request)
        )
    except services.DirectoryRefused as exc:
        return refused(exc)
    return Status(201, IssuedOut(user_id=row.user_id, aik_id=row.aik_id))


class RevocationIn(Strict):
    revocation: dict[str, Any]


class RevokedOut(Schema):
    user_id: UUID
    aik_id: str


@router.post("/practices/{practice_id}/revocations", response={201: RevokedOut})
def revoke_certificate(
    request: HttpRequest, practice_id: UUID, payload: RevocationIn
) -> Status[RevokedOut] | HttpResponse:
    actor = access.acting_membership(signed_in_user(request), practice_id)
    if actor is None:
        raise HttpError(404, NOT_FOUND)
    try:
        row = services.revoke_certificate(actor, payload.revocation, Origin.of(request))
    except services.DirectoryRefused as exc:
        return refused(exc)
    return Status(201, RevokedOut(user_id=row.user_id, aik_id=row.aik_id))
