"""Care-team changes (docs/api/messaging.md): owners and admins add and remove therapists;
removal deletes the therapist's wraps and grants on the client's items in the same transaction
and closes their sockets after commit."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.test import Client

from quietroom.audit.models import AuditEvent, Outcome
from quietroom.messaging.models import ItemGrant, ItemWrap
from quietroom.practices.models import CareTeamMember, Membership, Role
from quietroom.realtime.sessions import user_group
from tests.harness.personas import Persona, Personas, give_passkey
from tests.messaging.test_blobs import as_persona, attach, upload

pytestmark = pytest.mark.django_db


def add(client: Client, client_id: uuid.UUID, therapist: Persona) -> Any:
    return client.post(
        f"/api/clients/{client_id}/care-team",
        {"therapist_user_id": str(therapist.user.pk)},
        content_type="application/json",
    )


def remove(client: Client, client_id: uuid.UUID, therapist: Persona) -> Any:
    return client.delete(f"/api/clients/{client_id}/care-team/{therapist.user.pk}")


def on_team(client: Persona, therapist: Persona) -> bool:
    return CareTeamMember.objects.filter(
        client=client.membership, therapist=therapist.membership, removed_at__isnull=True
    ).exists()


def test_owner_adds_a_therapist(personas: Personas) -> None:
    client_id = personas.client.membership.pk
    response = add(as_persona(personas.owner), client_id, personas.other_therapist)
    assert response.status_code == 201
    assert response.json() == {"therapist_user_id": str(personas.other_therapist.user.pk)}
    assert on_team(personas.client, personas.other_therapist)
    event = AuditEvent.objects.get()
    assert (event.action, event.outcome, event.client_id, event.object_id) == (
        "care_team.added",
        Outcome.ALLOWED,
        client_id,
        str(personas.other_therapist.user.pk),
    )
    again = add(as_persona(personas.owner), client_id, personas.other_therapist)
    assert again.status_code == 409
    assert CareTeamMember.objects.filter(therapist=personas.other_therapist.membership).count() == 2


def test_an_admin_may_change_the_team(personas: Personas) -> None:
    admin = Membership.objects.get(pk=personas.owner.membership.pk)
    admin.role = Role.ADMIN
    admin.save()
    client = as_persona(personas.owner)
    assert add(client, personas.client.membership.pk, personas.other_therapist).status_code == 201
    assert (
        remove(client, personas.client.membership.pk, personas.other_therapist).status_code == 204
    )


@pytest.mark.parametrize("who", ["owner", "therapist", "client", "other_client", "removed_member"])
def test_only_active_therapists_of_the_practice_can_be_added(personas: Personas, who: str) -> None:
    target: Persona = getattr(personas, who)
    expected = 409 if who == "therapist" else 400  # the therapist is on the team already
    response = add(as_persona(personas.owner), personas.client.membership.pk, target)
    assert response.status_code == expected
    other = add(
        as_persona(personas.owner), personas.client.membership.pk, personas.other_practice_therapist
    )
    assert other.status_code == 400
    assert other.json()["error"]["code"] == "not_a_therapist"
    assert AuditEvent.objects.count() == 0


@pytest.mark.parametrize(
    "who",
    [
        "therapist",
        "other_therapist",
        "client",
        "other_client",
        "removed_member",
        "other_practice_therapist",
    ],
)
def test_non_managers_get_404(personas: Personas, who: str) -> None:
    persona: Persona = getattr(personas, who)
    client_id = personas.client.membership.pk
    caller = as_persona(persona)
    assert add(caller, client_id, personas.other_therapist).status_code == 404
    assert remove(caller, client_id, personas.therapist).status_code == 404
    assert on_team(personas.client, personas.therapist)
    assert not on_team(personas.client, personas.other_therapist)
    events = list(AuditEvent.objects.order_by("seq"))
    assert [(e.action, e.outcome, e.client_id) for e in events] == [
        ("care_team.added", Outcome.DENIED, client_id),
        ("care_team.removed", Outcome.DENIED, client_id),
    ]


def test_anonymous_gets_401(personas: Personas) -> None:
    client_id = personas.client.membership.pk
    assert add(as_persona(None), client_id, personas.other_therapist).status_code == 401
    assert remove(as_persona(None), client_id, personas.therapist).status_code == 401


def test_unknown_or_staff_client_id_is_404(personas: Personas) -> None:
    owner = as_persona(personas.owner)
    unknown = add(owner, uuid.uuid4(), personas.other_therapist)
    staff = add(owner, personas.therapist.membership.pk, personas.other_therapist)
    other_practice = Membership.objects.create(
        practice=personas.other_practice, user=personas.client.user, role=Role.CLIENT
    )
    theirs = add(owner, other_practice.pk, personas.other_therapist)
    assert unknown.status_code == staff.status_code == theirs.status_code == 404
    assert unknown.content == staff.content == theirs.content
    assert remove(owner, personas.client.membership.pk, personas.other_therapist).status_code == 404


def test_managers_need_a_passkey(personas: Personas) -> None:
    Authenticator.objects.filter(
        user=personas.owner.user, type=Authenticator.Type.WEBAUTHN
    ).delete()
    owner = as_persona(personas.owner)
    client_id = personas.client.membership.pk
    refused = add(owner, client_id, personas.other_therapist)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "passkey_required"
    assert remove(owner, client_id, personas.therapist).status_code == 403
    assert on_team(personas.client, personas.therapist)
    give_passkey(personas.owner.user)
    assert add(owner, client_id, personas.other_therapist).status_code == 201


def test_removal_deletes_wraps_and_grants_and_closes_sockets(
    personas: Personas, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    client_id = personas.client.membership.pk
    owner = as_persona(personas.owner)
    add(owner, client_id, personas.other_therapist)
    kept, _ = upload(personas.client, client_id)
    attach(kept, [personas.client, personas.therapist, personas.other_therapist])
    granted, _ = upload(personas.client, client_id)
    attach(granted, [personas.client, personas.therapist], granted=[personas.other_therapist])
    therapist = as_persona(personas.other_therapist)
    assert therapist.get(f"/api/blobs/{kept}").status_code == 200
    assert therapist.get(f"/api/blobs/{granted}").status_code == 200
    # Another client's items are untouched by this removal.
    other_blob, _ = upload(personas.other_client, personas.other_client.membership.pk)
    attach(other_blob, [personas.other_client, personas.other_therapist])

    layer = get_channel_layer()
    assert layer is not None
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(user_group(personas.other_therapist.user.pk), channel)
    with django_capture_on_commit_callbacks(execute=True):
        response = remove(owner, client_id, personas.other_therapist)
    assert response.status_code == 204
    message = async_to_sync(layer.receive)(channel)
    assert message == {"type": "messaging.closed", "client_id": str(client_id)}

    assert not on_team(personas.client, personas.other_therapist)
    mine = ItemWrap.objects.filter(principal_id=personas.other_therapist.user.pk)
    assert list(mine.values_list("item__conversation__client_id", flat=True)) == [
        personas.other_client.membership.pk
    ]
    assert not ItemGrant.objects.filter(grantee=personas.other_therapist.user).exists()
    assert ItemWrap.objects.filter(principal_id=personas.therapist.user.pk).count() == 2
    event = AuditEvent.objects.filter(action="care_team.removed").get()
    assert (event.outcome, event.client_id, event.reason) == (
        Outcome.ALLOWED,
        client_id,
        "wraps=1 grants=1",
    )
    # Download after removal from the team: the same 404 as for anything else.
    assert therapist.get(f"/api/blobs/{kept}").status_code == 404
    assert therapist.get(f"/api/blobs/{granted}").status_code == 404
    assert therapist.get(f"/api/blobs/{other_blob}").status_code == 200
    assert as_persona(personas.therapist).get(f"/api/blobs/{kept}").status_code == 200
    assert remove(owner, client_id, personas.other_therapist).status_code == 404


def test_removed_then_added_again_reads_only_after_new_grants(personas: Personas) -> None:
    client_id = personas.client.membership.pk
    owner = as_persona(personas.owner)
    blob, _ = upload(personas.client, client_id)
    attach(blob, [personas.client, personas.therapist])
    assert remove(owner, client_id, personas.therapist).status_code == 204
    assert add(owner, client_id, personas.therapist).status_code == 201
    assert as_persona(personas.therapist).get(f"/api/blobs/{blob}").status_code == 404
