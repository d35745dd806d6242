"""Client records as the practice sees them, and invitations into a practice. Today a client's
record is their profile (metadata only); the clinical items sealed to the care team arrive with
messaging, forms and notes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.http import HttpRequest
from ninja import Router, Schema
from ninja.errors import HttpError
from ninja.responses import Status
from pydantic import ConfigDict, Field

from quietroom.accounts.api import signed_in_user
from quietroom.accounts.prelogin import normalize_email
from quietroom.audit.services import Origin, record_denied, record_event
from quietroom.practices import invitations
from quietroom.practices.access import access_client_by_id, client_for_audit
from quietroom.practices.models import CareTeamMember, Membership, Practice, Role

router = Router(tags=["clients"])


class ClientOut(Schema):
    id: UUID
    display_name: str
    practice_id: UUID
    since: datetime
    care_team: list[str]


@router.get("/clients/{client_id}", response=ClientOut)
def client_profile(request: HttpRequest, client_id: UUID) -> ClientOut:
    user = signed_in_user(request)
    origin = Origin.of(request)
    access = access_client_by_id(user, client_id)
    if access is None:
        target = client_for_audit(client_id)
        record_denied(
            action="client.profile.read",
            actor=user,
            practice=target.practice if target else None,
            client=target,
            object_type="client",
            object_id=str(client_id),
            origin=origin,
        )
        raise HttpError(404, "Nothing was found here.")
    with transaction.atomic():  # the read and its audit row are one unit (AUD-04)
        team = (
            CareTeamMember.objects.filter(client=access.client, removed_at__isnull=True)
            .select_related("therapist__user")
            .order_by("added_at")
        )
        out = ClientOut(
            id=access.client.pk,
            display_name=access.client.user.display_name,
            practice_id=access.client.practice_id,
            since=access.client.created_at,
            care_team=[member.therapist.user.display_name for member in team],
        )
        record_event(
            action="client.profile.read",
            actor=user,
            actor_role=access.actor.role,
            practice=access.client.practice,
            client=access.client,
            object_type="client",
            object_id=str(access.client.pk),
            origin=origin,
        )
    return out


class PersonOut(Schema):
    user_id: UUID
    display_name: str


class ClientTeamOut(Schema):
    client_id: UUID
    user_id: UUID
    display_name: str
    team: list[PersonOut]


class CareTeamsOut(Schema):
    clients: list[ClientTeamOut]
    therapists: list[PersonOut]


@router.get("/practices/{practice_id}/care-teams", response=CareTeamsOut)
def care_teams(request: HttpRequest, practice_id: UUID) -> CareTeamsOut:
    """Every active client with their current care team, and the therapists who can join one:
    what the Team page needs to add and remove therapists. Owners and admins only (metadata,
    AC-04); anyone else gets the same 404 as an unknown practice."""
    user = signed_in_user(request)
    origin = Origin.of(request)
    actor = (
        Membership.objects.filter(
            practice_id=practice_id,
            user=user,
            removed_at__isnull=True,
            role__in=[Role.OWNER, Role.ADMIN],
        ).first()
        if user.is_active
        else None
    )
    if actor is None:
        record_denied(
            action="care_team.list",
            actor=user,
            practice=Practice.objects.filter(pk=practice_id).first(),
            object_type="practice",
            object_id=str(practice_id),
            origin=origin,
        )
        raise HttpError(404, NOT_FOUND)
    with transaction.atomic():  # the read and its audit rows are one unit (AUD-04)
        clients = list(
            Membership.objects.select_related("user", "practice")
            .filter(practice_id=practice_id, role=Role.CLIENT, removed_at__isnull=True)
            .order_by("created_at")
        )
        teams: dict[UUID, list[PersonOut]] = {c.pk: [] for c in clients}
        for member in (
            CareTeamMember.objects.filter(client__in=clients, removed_at__isnull=True)
            .select_related("therapist__user")
            .order_by("added_at")
        ):
            teams[member.client_id].append(
                PersonOut(
                    user_id=member.therapist.user_id,
                    display_name=member.therapist.user.display_name,
                )
            )
        therapists = [
            PersonOut(user_id=m.user_id, display_name=m.user.display_name)
            for m in Membership.objects.select_related("user")
            .filter(
                practice_id=practice_id,
                role=Role.THERAPIST,
                removed_at__isnull=True,
                user__is_active=True,
            )
            .order_by("created_at")
        ]
        for client in clients:  # one row per client whose record was read, as the directory does
            record_event(
                action="care_team.read",
                actor=user,
                actor_role=actor.role,
                practice=client.practice,
                client=client,
                object_type="client",
                object_id=str(client.pk),
                origin=origin,
            )
    return CareTeamsOut(
        clients=[
            ClientTeamOut(
                client_id=c.pk,
                user_id=c.user_id,
                display_name=c.user.display_name,
                team=teams[c.pk],
            )
            for c in clients
        ],
        therapists=therapists,
    )


NOT_FOUND = "Nothing was found here."
# The same words for a token that never existed, expired, was revoked or was already used.
INVITATION_GONE = "This invitation link cannot be used. Ask for a new one."


class InvitationIn(Schema):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=3, max_length=254)
    role: Literal["admin", "therapist", "client"]


class InvitationOut(Schema):
    id: UUID
    email: str
    role: str
    created_at: datetime
    expires_at: datetime


@router.post("/practices/{practice_id}/invitations", response={201: InvitationOut})
def invite(request: HttpRequest, practice_id: UUID, payload: InvitationIn) -> Status[InvitationOut]:
    """Invite someone by email. The answer is the same whether or not the address already has
    an account anywhere: telling a therapist that would reveal someone else's therapy."""
    user = signed_in_user(request)
    try:
        validate_email(normalize_email(payload.email))
    except ValidationError:
        raise HttpError(400, "Enter a valid email address.") from None
    inviter = invitations.inviter_membership(user, practice_id, payload.role)
    if inviter is None:
        raise HttpError(404, NOT_FOUND)
    invitation = invitations.create_invitation(
        inviter, payload.email, payload.role, Origin.of(request)
    )
    return Status(201, InvitationOut.model_validate(invitation, from_attributes=True))


@router.get("/practices/{practice_id}/invitations", response=list[InvitationOut])
def list_invitations(request: HttpRequest, practice_id: UUID) -> list[InvitationOut]:
    found = invitations.pending_invitations(signed_in_user(request), practice_id)
    if found is None:
        raise HttpError(404, NOT_FOUND)
    return [InvitationOut.model_validate(i, from_attributes=True) for i in found]


@router.delete("/invitations/{uuid:invitation_id}", response={204: None})
def revoke_invitation(request: HttpRequest, invitation_id: UUID) -> Status[None]:
    if not invitations.revoke(signed_in_user(request), invitation_id, Origin.of(request)):
        raise HttpError(404, NOT_FOUND)
    return Status(204, None)


class OpenIn(Schema):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")


class OpenedOut(Schema):
    email: str
    practice_name: str
    role: str
    practice_id: UUID
    configs: list[dict[str, Any]]  # signed practice configs, oldest first, as stored


@router.post("/invitations/open", auth=None, response=OpenedOut)
def open_invitation(request: HttpRequest, payload: OpenIn) -> OpenedOut:
    """The invitation page calls this with the token from its link; the session may then sign
    up (or, signed in with the invited address, join)."""
    opened = invitations.open_invitation(request, payload.token)
    if opened is None:
        raise HttpError(404, INVITATION_GONE)
    return OpenedOut(
        email=opened.email,
        practice_name=opened.practice_name,
        role=opened.role,
        practice_id=opened.practice_id,
        configs=opened.configs,
    )


class JoinedOut(Schema):
    practice_id: UUID
    role: str


@router.post("/invitations/join", response=JoinedOut)
def join(request: HttpRequest) -> JoinedOut:
    """Accept the opened invitation with the account already signed in."""
    membership = invitations.accept(request, signed_in_user(request))
    if membership is None:
        raise HttpError(404, INVITATION_GONE)
    return JoinedOut(practice_id=membership.practice_id, role=membership.role)
