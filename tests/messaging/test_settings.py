"""The caller's notification choices and the practice's messaging settings
(docs/api/messaging.md)."""

from __future__ import annotations

from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from django.test import Client

from quietroom.audit.models import AuditEvent, Outcome
from quietroom.messaging.models import MessagingSettings, NotificationPrefs
from tests.harness.personas import Personas
from tests.messaging.test_blobs import as_persona

pytestmark = pytest.mark.django_db

DEFAULTS = {"email_on_message": True, "name_sender": False, "neutral_sender": False}


def put_json(client: Client, path: str, body: Any) -> Any:
    return client.put(path, body, content_type="application/json")


# --- notifications --------------------------------------------------------------------------


def test_notification_defaults_and_changes(personas: Personas) -> None:
    client = as_persona(personas.client)
    assert client.get("/api/me/notifications").json() == DEFAULTS
    assert not NotificationPrefs.objects.exists()  # reading stores nothing
    chosen = {"email_on_message": True, "name_sender": False, "neutral_sender": True}
    response = put_json(client, "/api/me/notifications", chosen)
    assert response.status_code == 200
    assert response.json() == chosen
    assert client.get("/api/me/notifications").json() == chosen
    # Someone else's choices are their own.
    assert as_persona(personas.therapist).get("/api/me/notifications").json() == DEFAULTS


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"email_on_message": True, "name_sender": False},
        {**DEFAULTS, "email_on_message": "yes"},
        {**DEFAULTS, "name_sender": 1},
        {**DEFAULTS, "extra": True},
    ],
)
def test_notification_bad_input_changes_nothing(personas: Personas, body: Any) -> None:
    client = as_persona(personas.client)
    put_json(client, "/api/me/notifications", {**DEFAULTS, "neutral_sender": True})
    response = put_json(client, "/api/me/notifications", body)
    assert response.status_code == 400
    assert client.get("/api/me/notifications").json()["neutral_sender"] is True


def test_notifications_need_sign_in(personas: Personas) -> None:
    anonymous = as_persona(None)
    assert anonymous.get("/api/me/notifications").status_code == 401
    assert put_json(anonymous, "/api/me/notifications", DEFAULTS).status_code == 401


# --- practice messaging settings ------------------------------------------------------------


def path(personas: Personas) -> str:
    return f"/api/practices/{personas.practice.pk}/messaging-settings"


def test_owner_sets_crisis_resources_members_read_them(personas: Personas) -> None:
    text = "In an emergency call 999.\nSamaritans: 116 123 (free, 24 hours)"
    owner = as_persona(personas.owner)
    assert owner.get(path(personas)).json() == {"crisis_resources": ""}
    response = put_json(owner, path(personas), {"crisis_resources": text})
    assert response.status_code == 200
    assert response.json() == {"crisis_resources": text}
    for who in ("owner", "therapist", "client", "other_client", "other_therapist"):
        got = as_persona(getattr(personas, who)).get(path(personas))
        assert got.json() == {"crisis_resources": text}
    event = AuditEvent.objects.get()
    assert (event.action, event.outcome, event.practice_id, event.actor_id) == (
        "practice.messaging_settings.changed",
        Outcome.ALLOWED,
        personas.practice.pk,
        personas.owner.user.pk,
    )


@pytest.mark.parametrize("who", ["removed_member", "other_practice_therapist"])
def test_non_members_get_404(personas: Personas, who: str) -> None:
    caller = as_persona(getattr(personas, who))
    assert caller.get(path(personas)).status_code == 404
    assert put_json(caller, path(personas), {"crisis_resources": "x"}).status_code == 404
    assert not MessagingSettings.objects.exists()


@pytest.mark.parametrize("who", ["therapist", "client", "other_client"])
def test_only_owners_and_admins_change_them(personas: Personas, who: str) -> None:
    response = put_json(
        as_persona(getattr(personas, who)), path(personas), {"crisis_resources": "x"}
    )
    assert response.status_code == 404
    assert not MessagingSettings.objects.exists()
    assert AuditEvent.objects.count() == 0


def test_anonymous_and_unknown_practice(personas: Personas) -> None:
    assert as_persona(None).get(path(personas)).status_code == 401
    unknown = "/api/practices/00000000-0000-4000-8000-000000000000/messaging-settings"
    assert as_persona(personas.owner).get(unknown).status_code == 404


@pytest.mark.parametrize(
    "text",
    [
        "x" * 2001,
        "tab\there",
        "bell\x07",
        "carriage\r\nreturn",
        "nul\x00",
        "\x1b[31mred",
    ],
)
def test_crisis_resources_must_be_plain_text(personas: Personas, text: str) -> None:
    owner = as_persona(personas.owner)
    put_json(owner, path(personas), {"crisis_resources": "before"})
    response = put_json(owner, path(personas), {"crisis_resources": text})
    assert response.status_code == 400
    assert owner.get(path(personas)).json() == {"crisis_resources": "before"}
    assert AuditEvent.objects.count() == 1


def test_crisis_resources_accepts_2000_characters_and_unicode(personas: Personas) -> None:
    owner = as_persona(personas.owner)
    for text in ("é" * 2000, "Línea de ayuda 📞\n024"):
        assert put_json(owner, path(personas), {"crisis_resources": text}).status_code == 200


def test_changing_settings_needs_a_passkey(personas: Personas) -> None:
    Authenticator.objects.filter(
        user=personas.owner.user, type=Authenticator.Type.WEBAUTHN
    ).delete()
    owner = as_persona(personas.owner)
    refused = put_json(owner, path(personas), {"crisis_resources": "x"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "passkey_required"
    assert owner.get(path(personas)).status_code == 200
