"""Care-team changes, notification choices, practice messaging settings and quick exit
(docs/api/messaging.md)."""

from __future__ import annotations

import unicodedata
from uuid import UUID

from django.contrib.auth import logout
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema
from ninja.errors import HttpError
from ninja.responses import Status
from pydantic import ConfigDict, Field, field_validator

from quietroom.accounts.api import signed_in_user
from quietroom.accounts.models import User
from quietroom.audit.services import Origin, record_event
from quietroom.core.errors import error_response
from quietroom.core.middleware import clear_site_data
from quietroom.messaging import care_team
from quietroom.messaging.models import MessagingSettings, NotificationPrefs
from quietroom.messaging.views import same_origin
from quietroom.practices.models import Membership, Role

router = Router(tags=["messaging"])

NOT_FOUND = "Nothing was found here."
CRISIS_MAX = 2000


# --- care team ------------------------------------------------------------------------------


class TeamAddIn(Schema):
    model_config = ConfigDict(extra="forbid")
    therapist_user_id: UUID


class TeamAddedOut(Schema):
    therapist_user_id: UUID


@router.post("/clients/{client_id}/care-team", response={201: TeamAddedOut})
def add_to_care_team(
    request: HttpRequest, client_id: UUID, payload: TeamAddIn
) -> Status[TeamAddedOut] | HttpResponse:
    user = signed_in_user(request)
    origin = Origin.of(request)
    access = care_team.team_access(user, client_id, action="care_team.added", origin=origin)
    if access is None:
        raise HttpError(404, NOT_FOUND)
    result = care_team.add_therapist(access, user, payload.therapist_user_id, origin)
    if result is care_team.Added.NOT_A_THERAPIST:
        return error_response(
            400, "not_a_therapist", "Choose an active therapist of this practice."
        )
    if result is care_team.Added.ALREADY:
        return error_response(409, "already_on_team", "This therapist is already on the team.")
    return Status(201, TeamAddedOut(therapist_user_id=payload.therapist_user_id))


@router.delete("/clients/{client_id}/care-team/{therapist_user_id}", response={204: None})
def remove_from_care_team(
    request: HttpRequest, client_id: UUID, therapist_user_id: UUID
) -> Status[None]:
    user = signed_in_user(request)
    origin = Origin.of(request)
    access = care_team.team_access(user, client_id, action="care_team.removed", origin=origin)
    if access is None or not care_team.remove_therapist(access, user, therapist_user_id, origin):
        raise HttpError(404, NOT_FOUND)
    return Status(204, None)


# --- the caller's notification choices ------------------------------------------------------


class NotificationsIO(Schema):
    model_config = ConfigDict(extra="forbid")
    email_on_message: bool = Field(strict=True)
    name_sender: bool = Field(strict=True)
    neutral_sender: bool = Field(strict=True)


def prefs_for(user: User) -> NotificationPrefs:
    """The saved choices, or the defaults (not saved) when there are none."""
    return NotificationPrefs.objects.filter(user=user).first() or NotificationPrefs(user=user)


def _prefs_out(prefs: NotificationPrefs) -> NotificationsIO:
    return NotificationsIO(
        email_on_message=prefs.email_on_message,
        name_sender=prefs.name_sender,
        neutral_sender=prefs.neutral_sender,
    )


@router.get("/me/notifications", response=NotificationsIO)
def get_notifications(request: HttpRequest) -> NotificationsIO:
    return _prefs_out(prefs_for(signed_in_user(request)))


@router.put("/me/notifications", response=NotificationsIO)
def put_notifications(request: HttpRequest, payload: NotificationsIO) -> NotificationsIO:
    user = signed_in_user(request)
    prefs, _ = NotificationPrefs.objects.update_or_create(
        user=user,
        defaults={
            "email_on_message": payload.email_on_message,
            "name_sender": payload.name_sender,
            "neutral_sender": payload.neutral_sender,
        },
    )
    return _prefs_out(prefs)


# --- practice messaging settings ------------------------------------------------------------


class MessagingSettingsIO(Schema):
    model_config = ConfigDict(extra="forbid")
    crisis_resources: str = Field(max_length=CRISIS_MAX, strict=True)

    @field_validator("crisis_resources")
    @classmethod
    def plain_text(cls, value: str) -> str:
        # Shown as text in every conversation: no control characters (which could hide or
        # reorder what people read), except line breaks.
        if any(c != "\n" and unicodedata.category(c) == "Cc" for c in value):
            raise ValueError("only plain text and line breaks are allowed")
        return value


def _member(
    user: User, practice_id: UUID, roles: tuple[Role, ...] | None = None
) -> Membership | None:
    query = Membership.objects.select_related("practice").filter(
        practice_id=practice_id, user=user, removed_at__isnull=True
    )
    if roles is not None:
        query = query.filter(role__in=roles)
    return query.first() if user.is_active else None


@router.get("/practices/{practice_id}/messaging-settings", response=MessagingSettingsIO)
def get_messaging_settings(request: HttpRequest, practice_id: UUID) -> MessagingSettingsIO:
    if _member(signed_in_user(request), practice_id) is None:
        raise HttpError(404, NOT_FOUND)
    found = MessagingSettings.objects.filter(practice_id=practice_id).first()
    return MessagingSettingsIO(crisis_resources=found.crisis_resources if found else "")


@router.put("/practices/{practice_id}/messaging-settings", response=MessagingSettingsIO)
def put_messaging_settings(
    request: HttpRequest, practice_id: UUID, payload: MessagingSettingsIO
) -> MessagingSettingsIO:
    user = signed_in_user(request)
    actor = _member(user, practice_id, (Role.OWNER, Role.ADMIN))
    if actor is None:
        raise HttpError(404, NOT_FOUND)
    with transaction.atomic():
        MessagingSettings.objects.update_or_create(
            practice=actor.practice, defaults={"crisis_resources": payload.crisis_resources}
        )
        record_event(
            action="practice.messaging_settings.changed",
            actor=user,
            actor_role=actor.role,
            practice=actor.practice,
            object_type="practice",
            object_id=str(practice_id),
            origin=Origin.of(request),
        )
    return MessagingSettingsIO(crisis_resources=payload.crisis_resources)


# --- quick exit -----------------------------------------------------------------------------


@router.post("/quick-exit", auth=None, response={204: None})
def quick_exit(request: HttpRequest) -> HttpResponse:
    """Ends the session (audited as auth.logout by the sign-out signal, as any sign-out) and
    tells the browser to drop this origin's cache and storage. Anonymous callers get the same
    answer, so a page can call it without knowing whether anyone is signed in. Another site
    may not trigger it: it would wipe this device's keys."""
    if not same_origin(request):
        return error_response(403)
    if request.user.is_authenticated:
        logout(request)
    response = HttpResponse(status=204)
    clear_site_data(response, storage=True)
    return response
