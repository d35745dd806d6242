"""Client records as the practice sees them. Today: a client's profile (metadata only); the
clinical items sealed to the care team arrive with messaging, forms and notes."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from django.db import transaction
from django.http import HttpRequest
from ninja import Router, Schema
from ninja.errors import HttpError

from quietroom.accounts.api import signed_in_user
from quietroom.audit.services import Origin, record_denied, record_event
from quietroom.practices.access import access_client_by_id, client_for_audit
from quietroom.practices.models import CareTeamMember

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
