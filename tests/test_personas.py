"""The personas are what every authorisation test is written against; their shape matters."""

from __future__ import annotations

from django.test import Client

from quietroom.practices.models import CareTeamMember, Role
from tests.harness.personas import Personas


def test_personas_have_the_documented_roles_and_care_teams(personas: Personas) -> None:
    assert personas.owner.membership.role == Role.OWNER
    assert personas.client.membership.role == Role.CLIENT
    assert personas.other_practice_therapist.membership.practice == personas.other_practice
    active_team = CareTeamMember.objects.filter(
        client=personas.client.membership, removed_at__isnull=True
    ).values_list("therapist", flat=True)
    assert list(active_team) == [personas.therapist.membership.pk]
    assert personas.removed_member.membership.removed_at is not None
    assert len({p.user.pk for p in personas.all()}) == 7


def test_session_shows_each_persona_only_its_own_memberships(personas: Personas) -> None:
    for persona in personas.all():
        client = Client()
        client.force_login(persona.user)
        body = client.get("/api/session").json()
        assert body["user_id"] == str(persona.user.id)
        practices = {m["practice_id"] for m in body["memberships"]}
        if persona is personas.removed_member:
            assert practices == set()  # removal ends the membership's reach at once
        else:
            assert practices == {str(persona.membership.practice_id)}
