"""Invitations: who may invite whom, single use, expiry, revocation, a neutral email, sign-up
only for the invited address, and joining the practice (and the care team) on sign-up."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client
from django.utils import timezone

from quietroom.audit.models import AuditEvent
from quietroom.practices.models import CareTeamMember, Invitation, Membership, Role
from tests.harness.personas import Persona, Personas
from tests.test_signin import BASE, FAST_HASHER, Browser, new_auth_key

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fast_hasher")]

GONE = {
    "error": {
        "code": "not_found",
        "message": "This invitation link cannot be used. Ask for a new one.",
    }
}


@pytest.fixture
def fast_hasher(settings: object) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHER  # type: ignore[attr-defined]


def as_persona(persona: Persona | None) -> Client:
    client = Client()
    if persona is not None:
        client.force_login(persona.user)
    return client


def invite(inviter: Persona, email: str, role: str, practice_id: object = None) -> object:
    practice = practice_id or inviter.membership.practice_id
    return as_persona(inviter).post(
        f"/api/practices/{practice}/invitations",
        {"email": email, "role": role},
        content_type="application/json",
    )


def token_from_outbox() -> str:
    match = re.search(r"/join#token=([A-Za-z0-9_-]+)", str(mail.outbox[-1].body))
    assert match, mail.outbox[-1].body
    return match.group(1)


def open_and_sign_up(token: str, email: str) -> tuple[Browser, object]:
    browser = Browser()
    opened = browser.post("/api/invitations/open", {"token": token})
    assert opened.status_code == 200, opened.content
    response = browser.post(f"{BASE}/auth/signup", {"email": email, "password": new_auth_key()})
    return browser, response


@pytest.mark.parametrize(
    ("who", "role", "allowed"),
    [
        ("owner", "therapist", True),
        ("owner", "admin", True),
        ("owner", "client", False),
        ("therapist", "client", True),
        ("therapist", "therapist", False),
        ("client", "client", False),
        ("removed_member", "client", False),
        ("other_practice_therapist", "client", False),
    ],
)
def test_who_may_invite_whom(personas: Personas, who: str, role: str, allowed: bool) -> None:
    response = invite(getattr(personas, who), "new.person@example.org", role, personas.practice.pk)
    assert response.status_code == (201 if allowed else 404)  # type: ignore[attr-defined]
    assert Invitation.objects.count() == (1 if allowed else 0)
    assert len(mail.outbox) == (1 if allowed else 0)


def test_anonymous_cannot_invite(personas: Personas) -> None:
    response = Client().post(
        f"/api/practices/{personas.practice.pk}/invitations",
        {"email": "x@example.org", "role": "client"},
        content_type="application/json",
    )
    assert response.status_code == 401


def test_the_email_names_the_practice_and_nothing_about_therapy(personas: Personas) -> None:
    mail.outbox.clear()
    invite(personas.therapist, "New.Client@Example.org", "client")
    [message] = mail.outbox
    assert message.to == ["new.client@example.org"]
    text = (str(message.subject) + str(message.body)).replace(personas.practice.name, "")
    for word in ("therap", "client", "counsel", "session", "mental", "patient", "care"):
        assert word not in text.lower()
    assert "#token=" in message.body  # in the fragment: never sent to a server, never logged
    assert personas.practice.name in message.subject


def test_client_signs_up_from_an_invitation_and_joins_the_care_team(personas: Personas) -> None:
    invite(personas.therapist, "new.client@example.org", "client")
    browser, response = open_and_sign_up(token_from_outbox(), "new.client@example.org")
    assert response.status_code == 200, response.content  # type: ignore[attr-defined]
    membership = Membership.objects.get(user__email="new.client@example.org")
    assert (membership.practice_id, membership.role) == (personas.practice.pk, Role.CLIENT)
    assert CareTeamMember.objects.filter(
        client=membership, therapist=personas.therapist.membership, removed_at__isnull=True
    ).exists()
    assert EmailAddress.objects.get(email="new.client@example.org").verified
    assert browser.client.get("/api/session").json()["memberships"][0]["role"] == "client"
    assert AuditEvent.objects.filter(action="invitation.accepted").count() == 1


def test_the_link_works_once(personas: Personas) -> None:
    invite(personas.owner, "new.therapist@example.org", "therapist")
    token = token_from_outbox()
    open_and_sign_up(token, "new.therapist@example.org")
    again = Browser().post("/api/invitations/open", {"token": token})
    assert (again.status_code, again.json()) == (404, GONE)


def test_expired_revoked_and_unknown_links_look_alike(personas: Personas) -> None:
    invite(personas.owner, "a@example.org", "therapist")
    expired = token_from_outbox()
    invite(personas.owner, "b@example.org", "therapist")
    revoked = token_from_outbox()
    invitation = Invitation.objects.get(email="b@example.org")
    assert as_persona(personas.owner).delete(f"/api/invitations/{invitation.pk}").status_code == 204
    answers = []
    with time_machine.travel(timezone.now() + timedelta(days=7, seconds=1)):
        for token in (expired, revoked, "x" * 43):
            response = Browser().post("/api/invitations/open", {"token": token})
            answers.append((response.status_code, response.json()))
    assert answers == [(404, GONE)] * 3


def test_signup_needs_an_opened_invitation_for_that_address(personas: Personas) -> None:
    closed = Browser().post(
        f"{BASE}/auth/signup", {"email": "stranger@example.org", "password": new_auth_key()}
    )
    assert closed.status_code == 403
    invite(personas.therapist, "invited@example.org", "client")
    _, other_address = open_and_sign_up(token_from_outbox(), "someone.else@example.org")
    assert other_address.status_code == 400  # type: ignore[attr-defined]
    assert not Membership.objects.filter(user__email="someone.else@example.org").exists()


def test_an_existing_account_joins_with_the_invited_address(personas: Personas) -> None:
    invite(personas.other_practice_therapist, personas.client.user.email, "client")
    token = token_from_outbox()
    client = as_persona(personas.client)
    assert (
        client.post(
            "/api/invitations/open", {"token": token}, content_type="application/json"
        ).status_code
        == 200
    )
    joined = client.post("/api/invitations/join")
    assert joined.status_code == 200
    assert joined.json()["practice_id"] == str(personas.other_practice.pk)
    # Someone else's account cannot use a link opened for another address.
    invite(personas.other_practice_therapist, "not.them@example.org", "client")
    other = as_persona(personas.other_client)
    other.post(
        "/api/invitations/open", {"token": token_from_outbox()}, content_type="application/json"
    )
    assert other.post("/api/invitations/join").status_code == 404


def test_listing_and_revoking_are_scoped(personas: Personas) -> None:
    invite(personas.therapist, "c1@example.org", "client")
    invite(personas.other_therapist, "c2@example.org", "client")
    invite(personas.owner, "t1@example.org", "therapist")
    url = f"/api/practices/{personas.practice.pk}/invitations"
    owner_sees = {i["email"] for i in as_persona(personas.owner).get(url).json()}
    assert owner_sees == {"c1@example.org", "c2@example.org", "t1@example.org"}
    therapist_sees = {i["email"] for i in as_persona(personas.therapist).get(url).json()}
    assert therapist_sees == {"c1@example.org"}
    for who in ("client", "removed_member", "other_practice_therapist"):
        assert as_persona(getattr(personas, who)).get(url).status_code == 404
    theirs = Invitation.objects.get(email="c2@example.org")
    for who in ("therapist", "client", "other_practice_therapist"):
        response = as_persona(getattr(personas, who)).delete(f"/api/invitations/{theirs.pk}")
        assert response.status_code == 404
    assert (
        as_persona(personas.other_therapist).delete(f"/api/invitations/{theirs.pk}").status_code
        == 204
    )


def test_bad_input_is_refused(personas: Personas) -> None:
    for body in (
        {"email": "not-an-email", "role": "client"},
        {"email": "a@b.org", "role": "owner"},
        {"email": "a@b.org", "role": "client", "practice": "x"},
    ):
        response = as_persona(personas.therapist).post(
            f"/api/practices/{personas.practice.pk}/invitations",
            body,
            content_type="application/json",
        )
        assert response.status_code == 400
    assert Invitation.objects.count() == 0
    assert Browser().post("/api/invitations/open", {"token": "short"}).status_code == 400
