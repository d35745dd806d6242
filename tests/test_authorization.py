"""Authorisation of every endpoint that touches client data, for every persona, and its
audit row: allowed access writes exactly one `allowed` event, refused access one `denied`
event and a 404 that looks exactly like "does not exist" (AC-03, AUD-01)."""

from __future__ import annotations

import csv
import io
import uuid

import pytest
from django.db import transaction
from django.test import Client

from quietroom.audit.models import AuditEvent, Outcome
from quietroom.audit.services import Origin, record_event
from tests.harness.browser import record_sign_in
from tests.harness.personas import Persona, Personas
from tests.test_route_sweep import all_routes

pytestmark = pytest.mark.django_db

NOT_FOUND = {"error": {"code": "not_found", "message": "Nothing was found here."}}

# Every API route, with the audit event it must write when it touches client data, or the
# reason it touches none. A new route without an entry fails test_every_route_is_classified.
AUDITED: dict[str, str] = {
    "api/clients/<client_id>": "client.profile.read",
    "api/practices/<practice_id>/directory": "directory.read (tests/directory/)",
    # Attachments and care teams (tests/messaging/test_blobs.py, test_care_team.py).
    "api/conversations/<client_id>/blobs": "conversation.blob.started",
    "api/blobs/<blob_id>": "conversation.blob.read (and .uploaded, .abandoned)",
    "api/blobs/<blob_id>/upload": "denied attempts as conversation.blob.upload",
    "api/clients/<client_id>/care-team": "care_team.added",
    "api/clients/<client_id>/care-team/<therapist_user_id>": "care_team.removed",
    "api/conversations/<client_id>": "conversation.open (tests/messaging/)",
    "api/conversations/<client_id>/items": (
        "conversation.items.read, conversation.item.created (tests/messaging/)"
    ),
    "api/conversations/<client_id>/grants": "conversation.grant.created (tests/messaging/)",
    "api/practices/<practice_id>/care-teams": "care_team.read per client (test_care_teams.py)",
}
NO_CLIENT_DATA: dict[str, str] = {
    "api/conversations": "the caller's own conversation list: metadata, no item is read",
    "api/conversations/<client_id>/read": "the caller's read mark; denials audited (messaging)",
    "api/conversations/<client_id>/grants/needed": "item and user ids; denials audited (messaging)",
    "api/": "ninja's root: always 404",
    "api/me/notifications": "the caller's own email choices (tests/messaging/test_settings.py)",
    "api/practices/<practice_id>/messaging-settings": (
        "the practice's public crisis resources: audited as practice.messaging_settings.changed"
    ),
    "api/quick-exit": "signs the caller out: audited as auth.logout",
    "api/openapi.json": "the API schema",
    "api/health": "liveness",
    "api/meta": "product name and version",
    "api/transparency": "server configuration facts",
    "api/csp-report": "browser CSP reports",
    "api/session": "the caller's own account",
    "api/profile": "the caller's own display name",
    "api/setup/check": "a set-up token, before any practice exists",
    "api/setup/practice": "practice set-up: audited as practice.created (tests/directory/)",
    "api/practices/<practice_id>/configs": "the practice's signed configs: public keys",
    "api/practices/<practice_id>/pending-certificates": (
        "names and public keys of members to certify, to their certifiers (tests/directory/)"
    ),
    "api/practices/<practice_id>/certificates": "audited as cert.issued (tests/directory/)",
    "api/practices/<practice_id>/revocations": "audited as cert.revoked (tests/directory/)",
    "api/keys/prelogin": "salt and KDF parameters; the same shape for any email",
    "api/audit/events": "audit review: writes audit.search itself (tested below)",
    "api/audit/events/export": "audit export: writes audit.export itself (tested below)",
    "api/audit/my-access": "the caller's own access history",
    "api/account/security-events": "the caller's own sign-in history",
    "api/practices/<practice_id>/invitations": "invitations: audited as invitation.created",
    "api/invitations/<uuidstr:invitation_id>": "invitations: audited as invitation.revoked",
    "api/invitations/open": "an invitation token, before any account exists",
    "api/invitations/join": "invitations: audited as invitation.accepted",
    # Account keys (tests/keys/): each person's own sealed keys; writes audited as keys.*,
    # device.* and recovery.* (client_id set when the person is a client).
    "api/keys/account": "the caller's own keys (sealed): audited as keys.created",
    "api/keys/pw-wrap/pending": "the caller's own password wrap: audited",
    "api/keys/pw-wrap/confirm": "the caller's own password wrap: audited",
    "api/keys/devices": "the caller's own device lists: audited as device.*",
    "api/keys/devices/<device_id>/dev-wrap": "the caller's own device wrap: audited",
    "api/keys/recovery/requests": "the caller's own recovery request: audited",
    "api/keys/recovery/requests/<request_id>": "the caller's own recovery request",
    "api/keys/recovery/complete": "the caller's own recovery: audited as recovery.completed",
    "api/practices/<practice_id>/recovery-requests": "audited as recovery.requests.read",
    "api/practices/<practice_id>/recovery-requests/<request_id>/transfer": (
        "escrowed key transfer (sealed): audited as recovery.transferred"
    ),
}


def as_persona(persona: Persona | None) -> Client:
    client = Client()
    if persona is not None:
        client.force_login(persona.user)
        record_sign_in(client, persona.user)  # a fresh sign-in, as the audit export requires
    return client


def test_every_route_is_classified() -> None:
    api_routes = {r for r in all_routes() if r.startswith("api/")}
    assert api_routes == set(AUDITED) | set(NO_CLIENT_DATA)


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("owner", 200),
        ("therapist", 200),
        ("client", 200),
        ("other_therapist", 404),
        ("other_client", 404),
        ("removed_member", 404),
        ("other_practice_therapist", 404),
    ],
)
def test_client_profile_matrix(personas: Personas, who: str, status: int) -> None:
    persona: Persona = getattr(personas, who)
    target = personas.client.membership
    response = as_persona(persona).get(f"/api/clients/{target.pk}")
    assert response.status_code == status
    events = list(AuditEvent.objects.all())
    assert len(events) == 1
    event = events[0]
    assert event.action == AUDITED["api/clients/<client_id>"]
    assert event.actor_id == persona.user.pk
    if status == 200:
        assert event.outcome == Outcome.ALLOWED
        assert event.client_id == target.pk
        assert event.actor_role == persona.membership.role
        body = response.json()
        assert body["display_name"] == personas.client.user.display_name
        assert body["care_team"] == [personas.therapist.user.display_name]
    else:
        assert event.outcome == Outcome.DENIED
        # The refused caller learns nothing; the client's practice sees the attempt.
        assert response.json() == NOT_FOUND
        assert event.client_id == target.pk
        _, reviewed = _review(personas.owner, outcome="denied")
        assert [(i["actor_id"], i["client_id"]) for i in reviewed] == [
            (str(persona.user.pk), str(target.pk))
        ]


def test_unknown_client_looks_like_someone_elses(personas: Personas) -> None:
    therapist = as_persona(personas.therapist)
    unknown = therapist.get(f"/api/clients/{uuid.uuid4()}")
    not_theirs = therapist.get(f"/api/clients/{personas.other_client.membership.pk}")
    assert unknown.status_code == not_theirs.status_code == 404
    assert unknown.content == not_theirs.content
    assert set(unknown.headers) == set(not_theirs.headers)


def test_anonymous_gets_401_and_nothing_is_recorded(personas: Personas) -> None:
    response = as_persona(None).get(f"/api/clients/{personas.client.membership.pk}")
    assert response.status_code == 401
    assert AuditEvent.objects.count() == 0


def test_staff_id_is_not_a_client(personas: Personas) -> None:
    response = as_persona(personas.owner).get(f"/api/clients/{personas.therapist.membership.pk}")
    assert response.status_code == 404


def _open_profiles(personas: Personas) -> None:
    as_persona(personas.therapist).get(f"/api/clients/{personas.client.membership.pk}")
    as_persona(personas.other_therapist).get(f"/api/clients/{personas.other_client.membership.pk}")
    as_persona(personas.client).get(f"/api/clients/{personas.client.membership.pk}")


def _review(persona: Persona, **params: str) -> tuple[int, list[dict[str, object]]]:
    response = as_persona(persona).get("/api/audit/events", params)
    if response.status_code != 200:
        return response.status_code, []
    return 200, response.json()["items"]


def test_owner_reviews_every_event_of_the_practice(personas: Personas) -> None:
    _open_profiles(personas)
    status, items = _review(personas.owner, action="client.profile.read")
    assert status == 200
    assert {i["client_id"] for i in items} == {
        str(personas.client.membership.pk),
        str(personas.other_client.membership.pk),
    }
    assert len(items) == 3


def test_therapist_reviews_only_their_own_clients(personas: Personas) -> None:
    _open_profiles(personas)
    status, items = _review(personas.therapist, action="client.profile.read")
    assert status == 200
    assert {i["client_id"] for i in items} == {str(personas.client.membership.pk)}
    status, items = _review(personas.other_practice_therapist)
    assert (status, items) == (200, [])


@pytest.mark.parametrize("who", ["client", "other_client", "removed_member"])
def test_non_staff_cannot_review(personas: Personas, who: str) -> None:
    _open_profiles(personas)
    status, _ = _review(getattr(personas, who))
    assert status == 404


def test_review_filters_and_pages(personas: Personas) -> None:
    for _ in range(5):
        _open_profiles(personas)
    status, denied = _review(personas.owner, outcome="denied")
    assert (status, denied) == (200, [])
    first = as_persona(personas.owner).get(
        "/api/audit/events", {"action": "client.profile.read", "limit": "4"}
    )
    body = first.json()
    assert len(body["items"]) == 4
    second = (
        as_persona(personas.owner)
        .get(
            "/api/audit/events",
            {"action": "client.profile.read", "limit": "100", "before": str(body["next_before"])},
        )
        .json()
    )
    seqs = [i["seq"] for i in body["items"] + second["items"]]
    assert seqs == sorted(seqs, reverse=True)
    assert len(seqs) == len(set(seqs)) == 15
    assert second["next_before"] is None


def test_review_refuses_bad_filters(personas: Personas) -> None:
    owner = as_persona(personas.owner)
    for params in (
        {"outcome": "maybe"},
        {"actor": "nope"},
        {"limit": "0"},
        {"action": "a b"},
        {"since": "2026-01-01T00:00:00"},  # no time zone: ambiguous, refused
        {"until": "2026-01-01"},
    ):
        assert owner.get("/api/audit/events", params).status_code == 400


def test_reviewing_is_itself_recorded(personas: Personas) -> None:
    _review(personas.therapist)
    event = AuditEvent.objects.order_by("-seq").first()
    assert event is not None
    assert (event.action, event.actor_id) == ("audit.search", personas.therapist.user.pk)
    assert event.practice_id == personas.practice.pk
    _, seen = _review(personas.owner, action="audit.search")
    assert str(personas.therapist.user.pk) in {i["actor_id"] for i in seen}


def test_export_csv_is_complete_and_formula_safe(personas: Personas) -> None:
    personas.therapist.user.display_name = "=HYPERLINK(evil)"
    personas.therapist.user.save()
    _open_profiles(personas)
    response = as_persona(personas.owner).get(
        "/api/audit/events/export", {"format": "csv", "action": "client.profile.read"}
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    text = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 3
    assert {r["actor_name"] for r in rows} >= {"'=HYPERLINK(evil)"}
    assert AuditEvent.objects.filter(action="audit.export").count() == 1


def test_export_as_client_is_404(personas: Personas) -> None:
    response = as_persona(personas.client).get("/api/audit/events/export")
    assert response.status_code == 404


def test_client_sees_who_opened_their_file_and_nothing_else(personas: Personas) -> None:
    _open_profiles(personas)
    mine = as_persona(personas.client).get("/api/audit/my-access").json()["items"]
    assert [(i["actor_name"], i["action"]) for i in mine] == [
        (personas.therapist.user.display_name, "client.profile.read")
    ]  # their own look at their file is not listed; nobody else's events are
    theirs = as_persona(personas.other_client).get("/api/audit/my-access").json()["items"]
    assert [i["actor_name"] for i in theirs] == [personas.other_therapist.user.display_name]
    staff = as_persona(personas.owner).get("/api/audit/my-access").json()["items"]
    assert staff == []


def test_security_history_shows_only_ones_own_sign_in_events(personas: Personas) -> None:
    with transaction.atomic():
        for persona in (personas.client, personas.therapist):
            record_event(
                action="auth.login",
                actor=persona.user,
                origin=Origin(address="192.0.2.0/24", user_agent="Firefox"),
            )
    as_persona(personas.therapist).get(f"/api/clients/{personas.client.membership.pk}")
    items = as_persona(personas.client).get("/api/account/security-events").json()["items"]
    assert [(i["action"], i["address"], i["user_agent"]) for i in items] == [
        ("auth.login", "192.0.2.0/24", "Firefox")
    ]
    assert as_persona(None).get("/api/account/security-events").status_code == 401
