"""The Team page's list of clients and their care teams: owners and admins only, one audit
row per client read, and the same 404 for everyone else as for an unknown practice."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from quietroom.audit.models import AuditEvent, Outcome
from tests.harness.personas import Persona, Personas

pytestmark = pytest.mark.django_db

NOT_FOUND = {"error": {"code": "not_found", "message": "Nothing was found here."}}


def as_persona(persona: Persona) -> Client:
    client = Client()
    client.force_login(persona.user)
    return client


def test_owner_sees_every_client_and_their_team(personas: Personas) -> None:
    practice_id = personas.owner.membership.practice_id
    response = as_persona(personas.owner).get(f"/api/practices/{practice_id}/care-teams")
    assert response.status_code == 200
    body = response.json()
    clients = {c["client_id"]: c for c in body["clients"]}
    mine = clients[str(personas.client.membership.pk)]
    assert mine["user_id"] == str(personas.client.user.pk)
    assert mine["display_name"] == personas.client.user.display_name
    assert mine["team"] == [
        {
            "user_id": str(personas.therapist.user.pk),
            "display_name": personas.therapist.user.display_name,
        }
    ]
    assert str(personas.other_client.membership.pk) in clients
    assert str(personas.removed_member.membership.pk) not in clients
    therapist_ids = {t["user_id"] for t in body["therapists"]}
    assert str(personas.therapist.user.pk) in therapist_ids
    assert str(personas.other_practice_therapist.user.pk) not in therapist_ids
    events = list(AuditEvent.objects.filter(action="care_team.read"))
    assert {e.client_id for e in events} == {uuid.UUID(c) for c in clients}
    assert all(
        e.outcome == Outcome.ALLOWED and e.actor_id == personas.owner.user.pk for e in events
    )


@pytest.mark.parametrize(
    "who", ["therapist", "client", "removed_member", "other_practice_therapist"]
)
def test_everyone_else_gets_404_and_a_denied_event(personas: Personas, who: str) -> None:
    persona: Persona = getattr(personas, who)
    practice_id = personas.owner.membership.practice_id
    response = as_persona(persona).get(f"/api/practices/{practice_id}/care-teams")
    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    events = list(AuditEvent.objects.all())
    assert [(e.action, e.outcome, e.actor_id) for e in events] == [
        ("care_team.list", Outcome.DENIED, persona.user.pk)
    ]


def test_unknown_practice_looks_like_someone_elses(personas: Personas) -> None:
    therapist = as_persona(personas.therapist)
    unknown = therapist.get(f"/api/practices/{uuid.uuid4()}/care-teams")
    theirs = therapist.get(f"/api/practices/{personas.owner.membership.practice_id}/care-teams")
    assert unknown.status_code == theirs.status_code == 404
    assert unknown.content == theirs.content
