"""The MFA gate (docs/api/keys.md, "Gates"): staff without a second factor get 403
`mfa_required` from the API, except what they need to enrol one and set up their keys; clients
are not gated; allauth's own endpoints stay open."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator

from quietroom.accounts.mfa_gate import is_open
from tests.harness.personas import Personas, give_totp
from tests.keys.world import api

pytestmark = pytest.mark.django_db

MFA_REQUIRED = {
    "error": {"code": "mfa_required", "message": "Set up two-step verification to continue."}
}


@pytest.mark.parametrize("who", ["owner", "therapist"])
def test_staff_without_a_second_factor_are_gated(personas: Personas, who: str) -> None:
    user = getattr(personas, who).user
    Authenticator.objects.filter(user=user).delete()
    client = api(user)
    for path in ("/api/audit/events", f"/api/practices/{personas.practice.id}/invitations",
                 f"/api/practices/{personas.practice.id}/recovery-requests",
                 "/api/keys/recovery/requests/00000000-0000-4000-8000-000000000000"):  # fmt: skip
        response = client.get(path)
        assert response.status_code == 403, path
        assert response.json() == MFA_REQUIRED
    assert (
        client.patch("/api/profile", {"display_name": "X"}, "application/json").status_code == 403
    )
    # What enrolment and key set-up need stays open.
    session = client.get("/api/session")
    assert session.status_code == 200
    assert session.json()["mfa_enabled"] is False
    assert client.get("/api/keys/account").status_code == 404  # no keys yet, but not gated
    assert client.get("/api/keys/devices").status_code == 200
    assert client.get("/api/health").status_code == 200
    assert client.get("/_allauth/browser/v1/account/authenticators").status_code == 200


def test_a_second_factor_opens_the_gate(personas: Personas) -> None:
    user = personas.owner.user
    Authenticator.objects.filter(user=user).delete()
    assert api(user).get("/api/audit/events").status_code == 403
    give_totp(user)
    assert api(user).get("/api/audit/events").status_code == 200
    assert api(user).get("/api/session").json()["mfa_enabled"] is True


def test_recovery_codes_alone_are_not_a_second_factor(personas: Personas) -> None:
    user = personas.therapist.user
    Authenticator.objects.filter(user=user).delete()
    Authenticator.objects.create(user=user, type=Authenticator.Type.RECOVERY_CODES, data={})
    assert api(user).get("/api/audit/events").status_code == 403


def test_clients_and_removed_members_are_not_gated(personas: Personas) -> None:
    assert api(personas.client.user).get("/api/audit/my-access").status_code == 200
    # A removed therapist is no longer staff anywhere: the API's own 404s answer them.
    removed = personas.removed_member.user
    Authenticator.objects.filter(user=removed).delete()
    assert api(removed).get("/api/audit/events").status_code == 404


def test_anonymous_callers_get_401_not_the_gate() -> None:
    assert api(None).get("/api/audit/events").status_code == 401


def test_open_list() -> None:
    assert is_open("GET", "/api/session")
    assert not is_open("PATCH", "/api/session")
    assert is_open("PUT", "/api/keys/account")
    assert not is_open("DELETE", "/api/keys/account")
    assert is_open("POST", "/api/keys/pw-wrap/pending")
    assert is_open("DELETE", "/api/keys/devices/abc/dev-wrap")
    assert not is_open("POST", "/api/keys/recovery/requests")
    assert not is_open("GET", "/api/keys/accountx")
    # A new device pins the PRSK from the signed configs before enrolment is finished.
    assert is_open("GET", "/api/practices/0190a5c1-2b3c-7d4e-8f90-0123456789ab/configs")
    assert not is_open("POST", "/api/practices/0190a5c1-2b3c-7d4e-8f90-0123456789ab/configs")
    assert not is_open("GET", "/api/practices/0190a5c1-2b3c-7d4e-8f90-0123456789ab/directory")
